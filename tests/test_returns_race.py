"""Two returns of one payment racing on PostgreSQL never return more than it: the second waits
on the first's lock of the original's running total, then finds too little left (ARDT/AM09),
whatever the interleaving; through the bus too (two pipelines, one store)."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from bridge.iso.reader import MessageReader
from bridge.payments.originals import OriginalRefs, find_original
from bridge.ports import RETURN_BY_MESSAGE
from bridge.returns.return_message import ReturnReason
from bridge.returns.service import ReturnRequest, apply_return
from builders import ReturnTx, Tx, pacs004, pacs008
from conftest import seeded_store
from reconcile_support import ALICE, FATIMA, ManualClock, pipeline

LOCK_WAIT_S = 10
"""How long the test waits for the second unit of work to queue behind the first's lock."""


def _paid(store) -> tuple[object, Tx]:
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    bus = pipeline(store, ManualClock())
    assert bus.handle(pacs008([tx], msg_id="PAY-1").encode()).verdict == "accepted"
    with store() as uow:
        return find_original(OriginalRefs(uetr=tx.uetr), None, uow, MessageReader()).recorded, tx


def _waiting_on_a_lock(store) -> bool:
    with store.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


def test_a_second_partial_return_waits_and_is_refused(postgres_url) -> None:
    store = seeded_store(postgres_url)
    original, _ = _paid(store)
    request = lambda rid: ReturnRequest(rid, ReturnReason("AC04"), RETURN_BY_MESSAGE, "RTR", 6000)  # noqa: E731
    second: list = []
    with store() as first:
        assert apply_return(first, original, request("R1")).result == "applied"
        racer = threading.Thread(target=lambda: second.append(_return_and_commit(store, original, request("R2"))))
        racer.start()
        deadline = time.monotonic() + LOCK_WAIT_S
        while not _waiting_on_a_lock(store):  # the racer queues behind the first's row lock
            assert time.monotonic() < deadline, "the second return never waited on the first"
            time.sleep(0.01)
        first.commit()
    racer.join(LOCK_WAIT_S)
    assert [(o.status, o.reason) for o in second] == [("RJCT", "AM09")]
    with store() as uow:
        assert uow.returns.returned(original.operation.key) == 6000
        assert {b.wallet: b.balance for b in uow.ledger.balances()} == {"w-alice": 4000}
    store.engine.dispose()


def _return_and_commit(store, original, request):
    with store() as uow:
        outcome = apply_return(uow, original, request)
        uow.commit()
        return outcome


def test_two_pipelines_racing_return_at_most_the_original(postgres_url) -> None:
    store = seeded_store(postgres_url)
    _, tx = _paid(store)
    start = threading.Barrier(2)
    verdicts: list[str] = []

    def give_back(n: int) -> None:
        bus = pipeline(store, ManualClock())
        raw = pacs004([ReturnTx(amount="60.00", uetr=tx.uetr, return_id=f"R{n}")], msg_id=f"RTR-{n}").encode()
        bus.reader.read(raw)
        start.wait()
        verdicts.append(bus.handle(raw).verdict)

    threads = [threading.Thread(target=give_back, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(verdicts) == ["accepted", "rejected"]
    with store() as uow:
        assert uow.returns.returned(f"uetr:{tx.uetr}") == 6000
        assert uow.ledger.supply() == {"EUR": 4000}
    store.engine.dispose()
