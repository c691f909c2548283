"""One payment, one mint (issue 13, class 3), through the pipeline: its logic on the in-memory
fake of the ports (tests/fakes.py), each road and the upgrade on SQLite and PostgreSQL too.

A payment reaches the bridge by two roads, its pacs.008 and the omnibus statement's booked
credit, in either order, apart or in one batch, and at the same moment in two workers: the
supply grows once. The roads share one reference: an EndToEndId (the statement lacks the TxId),
a UETR (that the pacs.008.001.02 cannot carry), or an AcctSvcrRef. A statement dated eight days
after the payment is beyond the reconciler's look-back: only the claimed references find it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.reconciliation.statement_mints import ledger_reference
from builders import Tx, pacs008
from camt053_builders import Ntry, camt053
from reconcile_support import (ALICE, BRUNO, FATIMA, ManualClock, balances, clocked, pipeline,
                               report, statuses, supply)

SAME_DAY = dict(start="2026-11-24T00:00:00Z", end="2026-11-24T23:59:59Z")
LATE = dict(start="2026-12-02T00:00:00Z", end="2026-12-02T23:59:59Z")  # beyond the 7-day look-back


def bank_on(registry):
    clock = ManualClock()
    store = clocked(registry, clock)
    return store, pipeline(store, clock)


@pytest.fixture()
def bank(memory_registry):
    return bank_on(memory_registry)


@pytest.fixture()
def real_bank(registry):
    """On SQLite and on PostgreSQL: the SQL ledger's claims, read one by one and per batch."""
    return bank_on(registry)


@dataclass
class Roads:
    """The two roads of one payment, as bytes, and what tells each one's answer."""

    first: bytes
    second: bytes
    first_is_statement: bool
    second_is_statement: bool


def entry_for(tx: Tx, msg_id: str, day: dict, **changes) -> Ntry:
    return Ntry.of(tx, msg_id, booked_at=day["start"][:11] + "10:00:00Z", **changes)


def statement(entries: list[Ntry], day: dict, version: str = "08") -> bytes:
    return camt053(entries, version=version, **day).encode()


def roads(case: str, order: str, day: dict, key_of) -> Roads:
    """The pacs.008 and statement (or, for an AcctSvcrRef the statement mint made, a later
    statement) of one payment of 100.00 EUR from FATIMA to ALICE."""
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None)
    if case == "statement-without-txid":
        payment = pacs008([tx], msg_id="PAY-1", version="08").encode()
        booked = statement([entry_for(tx, "PAY-1", day, tx_id=None)], day)
    elif case == "uetr-the-pacs008-02-lacks":
        tx.uetr = "8a562c67-ca16-48ba-b074-65581be6f011"
        payment = pacs008([tx], msg_id="PAY-1", version="02").encode()
        booked = statement([entry_for(tx, "PAY-1", day)], day)
    else:  # the AcctSvcrRef is the only reference shared
        payment = pacs008([tx], msg_id="PAY-1", version="08").encode()
        if order == "payment-first":  # the bank booked the fiat under the mint's own reference
            reference = ledger_reference(key_of(payment))
            booked = statement([entry_for(tx, "PAY-9", day, end_to_end_id="NOTPROVIDED", tx_id=None,
                                          acct_ref=reference)], day)
        else:  # a pacs.008 carries no AcctSvcrRef: the later road is the next statement
            booked = statement([entry_for(tx, "PAY-1", SAME_DAY, tx_id=None,
                                          acct_ref="SVC-BOOKED-1")], SAME_DAY)
            payment = statement([entry_for(tx, "PAY-7", day, end_to_end_id="NOTPROVIDED", tx_id=None,
                                           acct_ref="SVC-BOOKED-1")], day)
            return Roads(booked, payment, True, True)
    if order == "payment-first":
        return Roads(payment, booked, False, True)
    return Roads(booked, payment, True, False)


def key_of_payment(run):
    def key_of(raw: bytes) -> str:
        found = run.handle(raw, dry_run=True)
        return found.transactions[0].operation.key
    return key_of


def assert_first_minted_second_settled(road: Roads, first, second) -> None:
    if road.first_is_statement:
        assert statuses(report(first)) == ["minted"]
    else:
        assert [(t.status, t.result) for t in first.transactions] == [("ACSC", "applied")]
    if road.second_is_statement:
        assert statuses(report(second)) == ["matched"], report(second)["breaks"]
    else:  # answered as settled, with no new effect
        assert [(t.status, t.result) for t in second.transactions] == [("ACSC", "replayed")]


CASES = ["statement-without-txid", "uetr-the-pacs008-02-lacks", "acctsvcrref-shared"]
ORDERS = ["payment-first", "statement-first"]
DAYS = {"same-day": SAME_DAY, "eight-days-later": LATE}


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", CASES)
def test_two_roads_in_separate_units_mint_once(bank, case: str, order: str, day: str) -> None:
    two_roads_in_separate_units_mint_once(bank, case, order, day)


@pytest.mark.parametrize("case", CASES)
def test_two_roads_in_separate_units_mint_once_on_the_real_stores(real_bank, case: str) -> None:
    two_roads_in_separate_units_mint_once(real_bank, case, "payment-first", "eight-days-later")


def two_roads_in_separate_units_mint_once(bank, case: str, order: str, day: str) -> None:
    store, run = bank
    road = roads(case, order, DAYS[day], key_of_payment(run))
    first = run.handle(road.first)
    second = run.handle(road.second)
    assert_first_minted_second_settled(road, first, second)
    assert supply(store) == {"EUR": 10000} and balances(store) == {"w-alice": 10000}
    # Replays of either road change nothing.
    assert run.handle(road.first).seen_before and run.handle(road.second).seen_before
    assert supply(store) == {"EUR": 10000}


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", CASES)
def test_two_roads_in_one_batch_mint_once(bank, case: str, order: str, day: str) -> None:
    two_roads_in_one_batch_mint_once(bank, case, order, day)


@pytest.mark.parametrize("case", CASES)
def test_two_roads_in_one_batch_mint_once_on_the_real_stores(real_bank, case: str) -> None:
    two_roads_in_one_batch_mint_once(real_bank, case, "statement-first", "eight-days-later")


def two_roads_in_one_batch_mint_once(bank, case: str, order: str, day: str) -> None:
    store, run = bank
    road = roads(case, order, DAYS[day], key_of_payment(run))
    first, second = run.handle_batch([road.first, road.second])
    assert_first_minted_second_settled(road, first, second)
    assert supply(store) == {"EUR": 10000} and balances(store) == {"w-alice": 10000}


# -- the same reference, other content ---------------------------------------------------------

UETR = "2f0e7a58-61f8-4b54-a1f4-7c4c4cbd1f3e"


@pytest.mark.parametrize("change", [dict(amount="999.00"), dict(creditor_iban=BRUNO)],
                         ids=["other-amount", "other-wallet"])
def test_a_later_pacs008_with_the_statement_mints_uetr_and_other_content_is_am05(bank, change) -> None:
    store, run = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR)
    assert statuses(report(run.handle(statement([entry_for(tx, "PAY-1", SAME_DAY)], SAME_DAY)))) == ["minted"]
    other = Tx(**{**vars(tx), **change})
    later = run.handle(pacs008([other], msg_id="PAY-1", version="08").encode())
    assert [(t.status, t.reason) for t in later.transactions] == [("RJCT", "AM05")]
    assert supply(store) == {"EUR": 10000} and balances(store) == {"w-alice": 10000}


@pytest.mark.parametrize("day", DAYS)
def test_a_later_statement_entry_with_the_mints_uetr_and_another_amount_is_matched_with_difference(
        bank, day: str) -> None:
    store, run = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR)
    run.handle(pacs008([tx], msg_id="PAY-1", version="08").encode())
    found = report(run.handle(statement([entry_for(tx, "PAY-1", DAYS[day], amount="999.00")], DAYS[day])))
    assert statuses(found) == ["matched_with_difference"]
    assert "matched_with_difference" in {b["category"] for b in found["breaks"]}
    assert supply(store) == {"EUR": 10000}  # minted once; the difference is a break to look at


def test_two_pacs008_payments_with_one_end_to_end_id_are_two_mints_and_a_statement_matches_one(bank) -> None:
    """The roads recognise each other; two pacs.008s are told apart by their own keys."""
    store, run = bank
    one = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None, end_to_end_id="INV-4711")
    two = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None, end_to_end_id="INV-4711")
    for tx, msg_id in ((one, "PAY-1"), (two, "PAY-2")):
        answered = run.handle(pacs008([tx], msg_id=msg_id).encode())
        assert [(t.status, t.result) for t in answered.transactions] == [("ACSC", "applied")]
    assert supply(store) == {"EUR": 20000}
    found = report(run.handle(statement([entry_for(one, "PAY-1", LATE, tx_id=None)], LATE)))
    assert statuses(found) == ["matched"]
    assert supply(store) == {"EUR": 20000}


def test_notprovided_twins_are_not_one_payment_to_a_statement_entry(bank) -> None:
    """An entry that names only MsgId and EndToEndId NOTPROVIDED (no TxId, no UETR) cannot say
    which of a message's NOTPROVIDED transactions it books: it mints nothing (unapplied, a person
    decides), and both twins of the pacs.008 mint, neither answered as minted already."""
    store, run = bank
    twins = [Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None, tx_id=None,
                end_to_end_id="NOTPROVIDED") for _ in range(2)]
    found = report(run.handle(statement([entry_for(twins[0], "PAY-1", SAME_DAY)], SAME_DAY)))
    assert statuses(found) == ["unapplied_credit"] and supply(store) == {}
    answered = run.handle(pacs008(twins, msg_id="PAY-1", version="08").encode())
    assert [(t.status, t.result) for t in answered.transactions] == [("ACSC", "applied")] * 2
    assert supply(store) == {"EUR": 20000}


def test_two_entries_of_one_statement_sharing_a_payment_reference_mint_once(bank) -> None:
    store, run = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None)
    found = report(run.handle(statement([entry_for(tx, "PAY-1", SAME_DAY),
                                         entry_for(tx, "PAY-1", SAME_DAY, tx_id=None)], SAME_DAY)))
    assert statuses(found) == ["minted", "duplicate"]
    assert supply(store) == {"EUR": 10000}


# -- two workers at the same moment ---------------------------------------------------------------

class CommitTogether:
    """A store whose units of work, on their first commit, wait until `parties` units have
    reached their commit: each has looked up and decided before any commits."""

    def __init__(self, store, parties: int) -> None:
        self.store = store
        self.barrier = threading.Barrier(parties, timeout=30)
        self.engine = store.engine
        self.is_transient = store.is_transient
        self.first = threading.local()

    def __call__(self):
        uow = self.store()
        commit = uow.commit

        def commit_together() -> None:
            if not getattr(self.first, "done", False):
                self.first.done = True
                self.barrier.wait()
            commit()
        uow.commit = commit_together
        return uow


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # SQLite has one writer
@pytest.mark.parametrize("case", ["statement-without-txid", "uetr-the-pacs008-02-lacks"])
def test_two_workers_handling_both_roads_at_once_on_postgresql_mint_once(registry, case: str) -> None:
    clock = ManualClock()
    together = CommitTogether(clocked(registry, clock), 2)
    run = MessageBus(MessageReader(), together, is_transient=registry.is_transient, clock=clock)
    road = roads(case, "statement-first", SAME_DAY, None)
    results: dict[str, object] = {}

    def handle(name: str, raw: bytes) -> None:
        try:
            results[name] = run.handle(raw)
        except Exception as error:  # noqa: BLE001 - reported below
            results[name] = error
    threads = [threading.Thread(target=handle, args=("statement", road.first)),
               threading.Thread(target=handle, args=("payment", road.second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    booked, paid = results["statement"], results["payment"]
    assert not isinstance(booked, Exception) and not isinstance(paid, Exception), results
    assert supply(registry) == {"EUR": 10000}
    entry = statuses(report(booked))
    answer = [(t.status, t.result) for t in paid.transactions]
    # Whichever committed first minted; the other found its claim on its retry.
    assert (entry, answer) in ((["minted"], [("ACSC", "replayed")]), (["matched"], [("ACSC", "applied")]))


# -- upgrade: mints stored before the references were claimed ------------------------------------

def test_mints_stored_before_migration_0007_claim_their_references_on_upgrade(real_bank) -> None:
    from sqlalchemy import text

    from adapters.sql.engine import migrate
    store, run = real_bank
    booked_tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=None)
    paid_tx = Tx(amount="20.00", debtor_iban=FATIMA, creditor_iban=BRUNO, uetr=None)
    assert statuses(report(run.handle(statement([entry_for(booked_tx, "PAY-1", SAME_DAY, tx_id=None)],
                                                SAME_DAY)))) == ["minted"]
    run.handle(pacs008([paid_tx], msg_id="PAY-2", version="02").encode())
    with store.engine.begin() as connection:  # the store as revision 0006 left it
        for later in ("payment_refs", "return_entries", "payment_returns"):  # 0007, 0011
            connection.execute(text(f"DROP TABLE {later}"))
        connection.execute(text("DROP INDEX ix_outbox_correlation"))  # 0009's
        for column in ("cancel_requested_by", "cancel_tx_hash", "cancel_raw_tx"):  # 0010's
            connection.execute(text(f"ALTER TABLE evm_operations DROP COLUMN {column}"))
        connection.execute(text("DROP TABLE api_tokens"))  # 0012's
        connection.execute(text("DROP TABLE operator_actions"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    migrate(store.engine)
    later = run.handle(pacs008([booked_tx], msg_id="PAY-1", version="08").encode())
    assert [(t.status, t.result) for t in later.transactions] == [("ACSC", "replayed")]
    found = report(run.handle(statement([entry_for(paid_tx, "PAY-2", LATE, tx_id=None)], LATE)))
    assert statuses(found) == ["matched"]
    assert supply(store) == {"EUR": 12000}
