"""The in-memory fake of the ports (tests/fakes.py) against the Ledger contract, so that the
handler tests that run on it test what the SQL and EVM ledgers do; plus its unit of work."""
from __future__ import annotations

import pytest
from fakes import ChangedMeanwhile, InMemoryStore
from ledger_contract import ALICE, LedgerContract, mint

from bridge.messages import OutboundMessage


class TestInMemoryLedger(LedgerContract):
    @pytest.fixture()
    def unit_of_work(self, clock):
        return InMemoryStore(clock)

    @pytest.fixture()
    def one_writer_at_a_time(self) -> bool:
        return False  # units work on copies side by side: the race is there to lose


def test_a_unit_that_wrote_fails_transiently_when_another_committed_since_it_began() -> None:
    store = InMemoryStore()
    with store() as first, store() as second, store() as reader:
        first.ledger.apply(mint(10))
        second.ledger.apply(mint(20))
        first.commit()
        with pytest.raises(ChangedMeanwhile) as lost:
            second.commit()
        assert store.is_transient(lost.value)
        reader.commit()  # wrote nothing: nothing to lose
    with store() as uow:
        assert [(b.wallet, b.balance) for b in uow.ledger.balances()] == [(ALICE, 10)]


def test_the_outbox_keeps_the_queue_order_until_published() -> None:
    store = InMemoryStore()
    with store() as uow:
        for n in range(3):
            uow.outbox.add(OutboundMessage(f"M{n}", "C" * 40, "pacs.002.001.10", b"<x/>"))
        uow.commit()
    with store() as uow:
        assert [m.message_id for m in uow.outbox.pending()] == ["M0", "M1", "M2"]
        assert uow.outbox.get("M1").correlation_id == "C" * 35  # as the SQL outbox keeps it
        uow.outbox.mark_published(["M0", "M2"])
        uow.commit()
    with store() as uow:
        assert [m.message_id for m in uow.outbox.pending()] == ["M1"] and uow.outbox.backlog() == 1
