"""The pure reconciliation core, no database: statement periods and totals, batch entries, the
matching rule, wallet statements, and the report's JSON shape."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bridge.accounts import BLOCKED, OMNIBUS, RegisteredAccount
from bridge.money import Amount
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs
from bridge.parties import AccountId, Party
from bridge.reconciliation.conclusion import conclude
from bridge.reconciliation.entries import Inconsistency, statement_items, statement_period, statement_totals
from bridge.reconciliation.matching import Movement
from bridge.reconciliation.outcomes import BreakCategory, ReconciledAccount, ReconciliationReport
from bridge.reconciliation.plan import dry_run, plan_statement
from bridge.reconciliation.report import report_to_dict
from bridge.reconciliation.statement_mints import ledger_reference, minted_from_statement, statement_mint_key
from bridge.statements import Balance, Statement, StatementEntry, TransactionDetails

T0 = datetime(2026, 11, 24, tzinfo=timezone.utc)
ALICE_ACCOUNT, OMNIBUS_ACCOUNT = "DE82500199000417283905", "DE56500199000990000018"
REGISTRY = {
    OMNIBUS_ACCOUNT: RegisteredAccount(OMNIBUS_ACCOUNT, "EUR", None, kind=OMNIBUS),
    ALICE_ACCOUNT: RegisteredAccount(ALICE_ACCOUNT, "EUR", "w-alice"),
    "DE28500199000385091644": RegisteredAccount("DE28500199000385091644", "EUR", "w-erik", BLOCKED),
}
EUR = ReconciledAccount("omnibus", OMNIBUS_ACCOUNT, "EUR")


def eur(value: str) -> Amount:
    return Amount(Decimal(value), "EUR")


def entry(index: int, value: str, credit: bool = True, *, status: str = "BOOK", reversal: bool = False,
          details: tuple[TransactionDetails, ...] | None = None, **refs) -> StatementEntry:
    creditor = Party("Alice", AccountId(iban=refs.pop("creditor", ALICE_ACCOUNT)))
    tx = TransactionDetails(amount=eur(value), creditor=creditor, **refs)
    return StatementEntry(index, eur(value), "CRDT" if credit else "DBIT", status, booking_date=T0.date(),
                          booked_at=T0 + timedelta(hours=10 + index), reversal=reversal,
                          details=details if details is not None else (tx,),
                          account_servicer_ref=f"SVC-{index}")


def statement(*entries: StatementEntry, opening: str = "0.00", closing: str | None = None,
              with_period: bool = True) -> Statement:
    total = sum((e.amount.value if e.credit_debit == "CRDT" else -e.amount.value
                 for e in entries if e.status == "BOOK"), Decimal(opening))
    return Statement("S-1", AccountId(iban=OMNIBUS_ACCOUNT), currency="EUR",
                     from_time=T0 if with_period else None,
                     to_time=T0 + timedelta(hours=23, minutes=59, seconds=59) if with_period else None,
                     balances=(Balance("OPBD", eur(opening), "CRDT", T0.date()),
                               Balance("CLBD", eur(closing if closing is not None else str(total)), "CRDT",
                                       T0.date())),
                     entries=entries)


def mint(key: str, units: int, hour: int = 9, **refs) -> Movement:
    return Movement(key, MINT, "EUR", units, T0 + timedelta(hours=hour), PaymentRefs(**refs), wallet="w-alice")


def plan(stmt: Statement, movements=(), account: ReconciledAccount = EUR):
    return plan_statement(stmt, account, movements, REGISTRY.get)


def outcome(stmt: Statement, movements=(), *, supply_end: int, account: ReconciledAccount = EUR):
    planned = plan(stmt, movements, account)
    start, end = statement_period(stmt)
    return conclude("M-1", stmt, statement_totals(stmt, "EUR"), planned, dry_run(planned.entries),
                    start=start, end=end, ledger_opening=0, ledger_closing=supply_end)


# -- periods, totals, items ------------------------------------------------------------------

def test_the_period_ends_a_second_after_todttm_or_the_day_after_the_closing_balance() -> None:
    assert statement_period(statement()) == (T0, T0 + timedelta(days=1))
    assert statement_period(statement(with_period=False)) == (T0, T0 + timedelta(days=1))


def test_totals_count_booked_entries_only_and_refuse_what_does_not_add_up() -> None:
    good = statement(entry(0, "10.00"), entry(1, "3.00", credit=False), entry(2, "99.00", status="PDNG"))
    totals = statement_totals(good, "EUR")
    assert (totals.opening, totals.credits, totals.debits, totals.closing) == (0, 1000, 300, 700)
    bad = statement_totals(statement(entry(0, "10.00"), closing="9.99"), "EUR")
    assert isinstance(bad, Inconsistency) and dict(bad.figures)["difference"] == -1
    no_closing = Statement("S-2", AccountId(iban=OMNIBUS_ACCOUNT), balances=(Balance("OPBD", eur("0"), "CRDT", None),))
    assert "closing booked balance" in statement_totals(no_closing, "EUR").reason
    prcd = Statement("S-3", AccountId(iban=OMNIBUS_ACCOUNT), balances=(
        Balance("PRCD", eur("5.00"), "CRDT", None), Balance("CLBD", eur("5.00"), "CRDT", None)))
    assert statement_totals(prcd, "EUR").closing == 500
    jpy = statement_totals(statement(entry(0, "10.00")), "JPY")
    assert isinstance(jpy, Inconsistency) and "EUR" in jpy.reason


def test_a_batch_entry_is_one_item_per_transaction_when_their_amounts_add_up() -> None:
    parts = (TransactionDetails(amount=eur("6.00"), end_to_end_id="A"),
             TransactionDetails(amount=eur("4.00"), end_to_end_id="B"))
    items = statement_items(statement(entry(0, "10.00", details=parts)))
    assert [(i.detail_index, i.amount, i.refs.end_to_end_id) for i in items] == [(0, 600, "A"), (1, 400, "B")]
    uneven = (TransactionDetails(amount=eur("6.00"), end_to_end_id="A"), TransactionDetails(end_to_end_id="B"))
    items = statement_items(statement(entry(0, "10.00", details=uneven)))
    assert [(i.detail_index, i.amount, i.refs.end_to_end_id) for i in items] == [(None, 1000, "A")]


def test_a_zero_item_is_no_payment_it_is_a_break_never_an_operation() -> None:
    """camt.053 allows 0.00: a batch part (or a whole entry) of zero moves no money, so it is
    neither matched nor minted (a mint of zero once aborted `reconcile` on the store's CHECK);
    the other parts of the batch are payments as usual."""
    parts = (TransactionDetails(amount=eur("0.00"), end_to_end_id="ZERO", message_id="M-0",
                                creditor=Party("Alice", AccountId(iban=ALICE_ACCOUNT))),
             TransactionDetails(amount=eur("10.00"), end_to_end_id="TEN", message_id="M-1",
                                creditor=Party("Alice", AccountId(iban=ALICE_ACCOUNT))))
    stmt = statement(entry(0, "10.00", details=parts), entry(1, "0.00", end_to_end_id="Z2", message_id="M-2"))
    assert [(i.detail_index, i.amount, i.is_payment) for i in statement_items(stmt)] == [
        (0, 0, False), (1, 1000, True), (None, 0, False)]
    planned = plan(stmt, [mint("k-zero", 0, end_to_end_id="ZERO")])  # not even a ledger movement of 0
    assert [(e.status, e.operation is not None) for e in planned.entries] == [
        ("statement_inconsistent", False), ("planned_mint", True), ("statement_inconsistent", False)]
    assert [op.amount for op in planned.operations] == [1000]
    assert planned.entries[0].reason == "entry 1, TxDtls 1: an amount of 0.00 EUR is not a payment"
    assert planned.entries[2].reason == "entry 2: an amount of 0.00 EUR is not a payment"
    found = outcome(stmt, supply_end=0)
    assert sorted(b.category for b in found.breaks) == ["statement_inconsistent"] * 2
    assert found.totals is not None and not found.refused  # the rest of the statement counts


def test_batch_parts_with_more_decimals_than_the_currency_refuse_the_statement() -> None:
    """Three-decimal EUR parts that add up to the entry cannot be payments (no exact minor
    units): the statement is refused with the reason, as one whose own amounts are inexact."""
    parts = tuple(TransactionDetails(amount=eur(v), end_to_end_id=f"P{n}", message_id="M",
                                     creditor=Party("Alice", AccountId(iban=ALICE_ACCOUNT)))
                  for n, v in enumerate(("33.333", "33.333", "33.334")))
    stmt = statement(entry(0, "100.00", details=parts), entry(1, "5.00"))
    refused = statement_totals(stmt, "EUR")
    assert isinstance(refused, Inconsistency)
    assert refused.reason == ("entry 1, TxDtls 1: 33.333 EUR has more than 2 decimals, so the entry "
                              "cannot be split into its payments")
    # Never split into parts of no exact amount (were it planned all the same).
    assert [(i.detail_index, i.amount) for i in statement_items(stmt)] == [(None, 10000), (None, 500)]
    # Parts that do not add up are no batch: the entry is one item, as before.
    uneven = statement(entry(0, "100.00", details=parts[:2]))
    assert not isinstance(statement_totals(uneven, "EUR"), Inconsistency)


# -- the matching rule --------------------------------------------------------------------------

UETR_A, UETR_B = "0f1b6c1e-7a4d-4c1e-9a2b-3c4d5e6f7a8b", "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"


def test_uetr_wins_over_endtoendid_and_a_contradicting_uetr_never_matches() -> None:
    movements = [mint("k-e2e", 1000, end_to_end_id="E2E-1"), mint("k-uetr", 1000, uetr=UETR_A)]
    found = plan(statement(entry(0, "10.00", uetr=UETR_A, end_to_end_id="E2E-1")), movements)
    assert (found.entries[0].movement.key, found.entries[0].basis) == ("k-uetr", "uetr")
    other = plan(statement(entry(0, "10.00", uetr=UETR_B, end_to_end_id="E2E-9")), [mint("k", 1000, uetr=UETR_A)])
    assert other.entries[0].status == "planned_mint"  # another payment: minted, not matched by amount


def test_endtoendid_then_acctsvcrref_then_the_ledger_reference_then_amount() -> None:
    movements = [mint("k1", 1000, end_to_end_id="E2E-1"), mint("k2", 2000, account_servicer_ref="SVC-X"),
                 mint("k3", 3000), mint("k4", 4000)]
    stmt = statement(entry(0, "10.00", end_to_end_id="E2E-1"), entry(1, "20.00", account_servicer_ref="SVC-X"),
                     entry(2, "30.00", account_servicer_ref=ledger_reference("k3")), entry(3, "40.00"))
    found = plan(stmt, movements)
    assert [(e.status, e.movement.key, e.basis) for e in found.entries] == [
        ("matched", "k1", "end_to_end_id"), ("matched", "k2", "account_servicer_ref"),
        ("matched", "k3", "account_servicer_ref"), ("matched", "k4", "amount")]


def test_notprovided_identifies_nothing() -> None:
    found = plan(statement(entry(0, "10.00", end_to_end_id="NOTPROVIDED", uetr=UETR_B)),
                 [mint("k", 2000, end_to_end_id="NOTPROVIDED")])
    assert found.entries[0].status == "planned_mint"


def test_statement_mint_keys_follow_the_pacs008_rule() -> None:
    assert statement_mint_key(PaymentRefs(uetr=UETR_A.upper())) == f"uetr:{UETR_A}"
    by_refs = statement_mint_key(PaymentRefs(message_id="M", end_to_end_id="E", transaction_id="T"))
    assert by_refs.startswith("ref:") and by_refs == statement_mint_key(
        PaymentRefs(message_id="M", end_to_end_id="E", transaction_id="T", instruction_id="other"))
    assert statement_mint_key(PaymentRefs(end_to_end_id="E")) is None


def test_a_pacs008_mint_finds_the_statement_mint_of_its_payment() -> None:
    from bridge.operations import TokenOperation
    from bridge.ports import RecordedOperation

    class Ledger:
        def find(self, key):
            found = TokenOperation(key, MINT, "EUR", 1000, credit_wallet="w-alice")
            return RecordedOperation(found, 1, T0) if key.startswith("ref:") else None

    pacs = TokenOperation("sha256:abc", MINT, "EUR", 1000, credit_wallet="w-alice",
                          refs=PaymentRefs(message_id="M", end_to_end_id="E", transaction_id="T"))
    assert minted_from_statement(Ledger(), pacs).result == "replayed"
    other = TokenOperation("sha256:abc", MINT, "EUR", 999, credit_wallet="w-alice", refs=pacs.refs)
    assert minted_from_statement(Ledger(), other).rejection.reason == "AM05"
    burn = TokenOperation("sha256:abc", BURN, "EUR", 1000, debit_wallet="w-alice", refs=pacs.refs)
    assert minted_from_statement(Ledger(), burn) is None


# -- wallet statements, and the report ------------------------------------------------------------

def test_a_wallet_statement_is_compared_with_its_journal_and_never_mints() -> None:
    wallet = ReconciledAccount("wallet", ALICE_ACCOUNT, "EUR", "w-alice")
    movements = [mint("k1", 1000, uetr=UETR_A),
                 Movement("k2", TRANSFER, "EUR", -300, T0 + timedelta(hours=11), PaymentRefs(end_to_end_id="T-1"),
                          wallet="w-alice", counterparty="w-bruno")]
    stmt = statement(entry(0, "10.00", uetr=UETR_A), entry(1, "3.00", credit=False, end_to_end_id="T-1"),
                     entry(2, "5.00", uetr=UETR_B))
    result = outcome(stmt, movements, supply_end=700, account=wallet)
    assert [e.status for e in result.entries] == ["matched", "matched", "missing_on_ledger"]
    assert sorted(b.category for b in result.breaks) == ["backing_mismatch", "missing_on_ledger"]
    assert plan(stmt, movements, wallet).operations == []


def test_the_json_report_names_every_breaks_references() -> None:
    stmt = statement(entry(0, "10.00", uetr=UETR_A, end_to_end_id="E2E-1", creditor="GB52BARC20325373491826"))
    result = outcome(stmt, [mint("k9", 500, hour=12, end_to_end_id="OTHER")], supply_end=500)
    found = report_to_dict(ReconciliationReport((result,), T0))
    assert found["clean"] is False and found["summary"]["breaks"] == {
        "backing_mismatch": 1, "missing_on_statement": 1, "unapplied_credit": 1}
    for broken in found["breaks"]:
        assert broken["category"] in [c.value for c in BreakCategory]
        assert {"uetr", "end_to_end_id", "account_servicer_ref", "reason", "statement_id"} <= set(broken)
    unapplied = next(b for b in found["breaks"] if b["category"] == "unapplied_credit")
    assert (unapplied["uetr"], unapplied["end_to_end_id"], unapplied["account_servicer_ref"], unapplied["amount"]) == (
        UETR_A, "E2E-1", "SVC-0", "10.00")
    statement_json = found["statements"][0]
    assert statement_json["series"]["statement"][0] == ["2026-11-24T00:00:00Z", "0.00"]
    assert statement_json["series"]["statement"][-1] == ["2026-11-25T00:00:00Z", "10.00"]


def test_the_series_keeps_a_bounded_number_of_points() -> None:
    entries = tuple(entry(i, "1.00", uetr=None) for i in range(1000))
    result = outcome(statement(*entries), supply_end=0)
    assert 2 < len(result.statement_series) <= 400
    assert result.statement_series[-1][1] == 100000
    assert date(2026, 11, 24) == result.statement_series[0][0].date()


def test_break_categories_keep_the_names_interface_md_fixes() -> None:
    """`reconcile --json` consumers match on these strings: the enum's values are them, exactly."""
    assert [c.value for c in BreakCategory] == [
        "matched_with_difference", "missing_on_ledger", "missing_on_statement", "duplicate",
        "unapplied_credit", "backing_mismatch", "statement_inconsistent"]
    assert json.dumps({BreakCategory.DUPLICATE: BreakCategory.DUPLICATE}) == '{"duplicate": "duplicate"}'
