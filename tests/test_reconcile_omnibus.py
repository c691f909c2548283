"""Omnibus statements through the pipeline: matching, statement mints, reversals, each break
category, the backing invariant, and one mint per payment whichever of its pacs.008 and its
camt.053 entry comes first. The logic runs on the in-memory fake of the ports (tests/fakes.py);
the samples, the backing and a wallet statement, which read the journal and balances as of a
time, on a real store (SQLite and PostgreSQL) too."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bridge.payments.keys import uetr_key
from bridge.reconciliation.statement_mints import reference_key, reversal_key
from builders import Tx, pacs008
from camt053_builders import Ntry, camt053
from reconcile_support import (ALICE, BRUNO, ERIK, FATIMA, GEORGE, ManualClock, balances,
                               categories, clocked, pipeline, report, statuses, supply)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def bank_on(registry):
    """(store, pipeline, clock) on the sample registry, the ledger's clock inside 2026-11-24."""
    clock = ManualClock()
    store = clocked(registry, clock)
    return store, pipeline(store, clock), clock


@pytest.fixture()
def bank(memory_registry):
    return bank_on(memory_registry)


@pytest.fixture()
def real_bank(registry):
    return bank_on(registry)


def mint_tx(amount: str = "100.00", to: str = ALICE, **kw) -> Tx:
    return Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=to, **kw)


def pay(run, tx: Tx, msg_id: str, version: str = "08"):
    outcome = run.handle(pacs008([tx], msg_id=msg_id, version=version).encode())
    assert outcome.verdict == "accepted", outcome.summary
    return outcome


def reconcile(run, entries, dry_run: bool = False, **kw) -> dict:
    return report(run.handle(camt053(entries, **kw).encode(), dry_run=dry_run))


# -- the sample story ----------------------------------------------------------------------

def test_the_sample_statements_reconcile_clean_after_replaying_the_pacs008_story(real_bank) -> None:
    store, run, _ = real_bank
    for path in sorted((SAMPLES / "pacs008").glob("*.xml")):
        run.handle(path.read_bytes())
    before = supply(store)
    for path in sorted((SAMPLES / "camt053").glob("*.xml")):
        outcome = run.handle(path.read_bytes())
        found = report(outcome)
        assert outcome.verdict == "accepted" and found["clean"], found["breaks"]
        assert set(statuses(found)) == {"matched"}
        assert {o["status"] for s in found["statements"] for o in s["operations"]} == {"matched"}
    assert supply(store) == before == {"EUR": 1062500, "JPY": 150000, "KWD": 12345}


def test_the_sample_statements_first_then_the_pacs008_story_mint_each_payment_once(bank) -> None:
    store, run, _ = bank
    statements = [p.read_bytes() for p in sorted((SAMPLES / "camt053").glob("*.xml"))]
    eur, jpy, kwd = (report(run.handle(raw)) for raw in statements)
    assert statuses(jpy) == statuses(kwd) == ["minted"] and jpy["clean"] and kwd["clean"]
    # The EUR burn is not on the ledger yet: fiat left, tokens did not.
    assert statuses(eur) == ["minted", "minted", "missing_on_ledger", "minted", "minted"]
    assert categories(eur) == ["backing_mismatch", "missing_on_ledger"]
    outcomes = {p.name[:2]: run.handle(p.read_bytes()) for p in sorted((SAMPLES / "pacs008").glob("*.xml"))}
    for number in ("01", "02", "05", "06", "08"):  # the mints: answered settled, applied before
        assert [t.result for t in outcomes[number].transactions] == ["replayed"], number
    assert outcomes["04"].transactions[0].result == "applied"  # the burn
    assert supply(store) == {"EUR": 1062500, "JPY": 150000, "KWD": 12345}
    for raw in statements:  # the same bytes again: seen before; reconciled anew, read-only
        again = report(run.handle(raw, dry_run=True))
        assert again["clean"], again["breaks"]


# -- one mint per payment, whichever comes first -------------------------------------------

@pytest.mark.parametrize("version", ["08", "02"], ids=["with-uetr", "without-uetr"])
def test_pacs008_then_camt053_mints_once(bank, version: str) -> None:
    store, run, _ = bank
    tx = mint_tx(uetr=None) if version == "02" else mint_tx()
    pay(run, tx, "PAY-1", version)
    found = reconcile(run, [Ntry.of(tx, "PAY-1", uetr=tx.uetr if version == "08" else None)], version=version)
    assert found["clean"] and statuses(found) == ["matched"]
    assert supply(store) == {"EUR": 10000} and balances(store) == {"w-alice": 10000}


@pytest.mark.parametrize("version", ["08", "02"], ids=["with-uetr", "without-uetr"])
def test_camt053_then_pacs008_mints_once(bank, version: str) -> None:
    store, run, _ = bank
    tx = mint_tx(uetr=None) if version == "02" else mint_tx()
    found = reconcile(run, [Ntry.of(tx, "PAY-2")], version=version)
    assert found["clean"] and statuses(found) == ["minted"]
    key = uetr_key(tx.uetr) if tx.uetr else reference_key_of(tx, "PAY-2")
    assert found["statements"][0]["entries"][0]["operation"] == key
    later = pay(run, tx, "PAY-2", version)
    assert later.transactions[0].status == "ACSC" and later.transactions[0].result == "replayed"
    assert supply(store) == {"EUR": 10000} and balances(store) == {"w-alice": 10000}
    again = reconcile(run, [Ntry.of(tx, "PAY-2")], version=version, dry_run=True)
    assert again["clean"] and statuses(again) == ["matched"]


def reference_key_of(tx: Tx, msg_id: str) -> str:
    from bridge.operations import PaymentRefs
    return reference_key(PaymentRefs(message_id=msg_id, end_to_end_id=tx.end_to_end_id,
                                     transaction_id=tx.tx_id))


def test_a_later_pacs008_with_other_content_than_the_statement_mint_is_rejected_am05(bank) -> None:
    store, run, _ = bank
    tx = mint_tx("100.00", uetr=None)
    reconcile(run, [Ntry.of(tx, "PAY-3")], version="02")
    other = run.handle(pacs008([mint_tx("999.00", uetr=None, end_to_end_id=tx.end_to_end_id, tx_id=tx.tx_id)],
                               msg_id="PAY-3", version="02").encode())
    assert [(t.status, t.reason) for t in other.transactions] == [("RJCT", "AM05")]
    assert supply(store) == {"EUR": 10000}


# -- statements that mint, and what they never do -------------------------------------------

def test_a_booked_credit_for_a_tokenized_beneficiary_mints_and_the_supply_is_backed(bank) -> None:
    store, run, _ = bank
    found = reconcile(run, [Ntry.of(mint_tx("250.00"), "PAY-4"), Ntry.of(mint_tx("20.00", to=BRUNO), "PAY-5")])
    assert found["clean"] and statuses(found) == ["minted", "minted"]
    statement = found["statements"][0]
    assert statement["closing_booked"] == statement["ledger"]["closing"] == "270.00"
    assert balances(store) == {"w-alice": 25000, "w-bruno": 2000}


def test_pending_entries_produce_nothing(bank) -> None:
    store, run, _ = bank
    found = reconcile(run, [Ntry.of(mint_tx(), "PAY-6", status="PDNG")])
    assert found["clean"] and statuses(found) == ["pending"]
    assert supply(store) == {}


def test_a_dry_run_applies_nothing_and_shows_what_it_would_mint(bank) -> None:
    store, run, _ = bank
    entries = [Ntry.of(mint_tx(), "PAY-7")]
    found = reconcile(run, entries, dry_run=True)
    assert found["clean"] and statuses(found) == ["would_mint"]
    assert found["statements"][0]["ledger"]["in_flight"] == "100.00"
    assert supply(store) == {}


def test_the_same_statement_twice_has_no_second_effect(bank) -> None:
    store, run, _ = bank
    raw = camt053([Ntry.of(mint_tx(), "PAY-8")]).encode()
    first, second = run.handle(raw), run.handle(raw)
    assert second.seen_before and second.reply.message_id == first.reply.message_id
    assert supply(store) == {"EUR": 10000}


def test_a_statement_of_an_account_that_is_not_registered_is_refused(bank) -> None:
    store, run, _ = bank
    outcome = run.handle(camt053([Ntry.of(mint_tx(), "PAY-9")], account=GEORGE).encode())
    assert outcome.verdict == "refused" and outcome.reply is None and "not in the registry" in outcome.summary
    assert supply(store) == {}


def test_a_statement_from_a_sender_that_is_not_allowed_drives_nothing(memory_registry) -> None:
    clock = ManualClock()
    store = clocked(memory_registry, clock)
    run = pipeline(store, clock, issuer_bic="TOKNDEFFXXX", allowed_senders=frozenset({"BNPAFRPPXXX"}))
    refused = run.handle(camt053([Ntry.of(mint_tx(), "PAY-10")], servicer_bic="BARCGB22XXX").encode())
    assert refused.verdict == "refused" and "not allowed" in refused.summary and supply(store) == {}
    own = run.handle(camt053([Ntry.of(mint_tx(), "PAY-10")]).encode())  # serviced by the issuer itself
    assert own.verdict == "accepted" and supply(store) == {"EUR": 10000}


# -- every break category ------------------------------------------------------------------

def test_matched_with_difference_names_both_amounts_and_the_references(bank) -> None:
    _, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-11")
    entry = Ntry.of(tx, "PAY-11", amount="100.50")
    found = reconcile(run, [entry])
    assert categories(found) == ["backing_mismatch", "matched_with_difference"]
    broken = next(b for b in found["breaks"] if b["category"] == "matched_with_difference")
    assert (broken["uetr"], broken["end_to_end_id"], broken["account_servicer_ref"]) == (
        tx.uetr, tx.end_to_end_id, entry.acct_ref)
    assert broken["amount"] == "100.50" and broken["ledger_amount"] == "100.00"
    backing = next(b for b in found["breaks"] if b["category"] == "backing_mismatch")
    assert backing["difference"] == "0.50"


def test_a_debit_without_its_burn_is_missing_on_ledger(bank) -> None:
    _, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-12")
    burn = Ntry(amount="40.00", credit=False, uetr="1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                end_to_end_id="BURN-1", debtor_iban=ALICE, creditor_iban=GEORGE)
    found = reconcile(run, [Ntry.of(tx, "PAY-12"), burn])
    assert statuses(found) == ["matched", "missing_on_ledger"]
    assert categories(found) == ["backing_mismatch", "missing_on_ledger"]
    missing = next(b for b in found["breaks"] if b["category"] == "missing_on_ledger")
    assert (missing["entry"], missing["uetr"], missing["credit_debit"]) == (2, burn.uetr, "DBIT")


def test_a_ledger_operation_no_entry_matches_is_missing_on_statement(bank) -> None:
    _, run, _ = bank
    booked, unbooked = mint_tx("100.00"), mint_tx("20.00")
    pay(run, booked, "PAY-13")
    pay(run, unbooked, "PAY-14")
    found = reconcile(run, [Ntry.of(booked, "PAY-13")])
    assert categories(found) == ["backing_mismatch", "missing_on_statement"]
    missing = next(b for b in found["breaks"] if b["category"] == "missing_on_statement")
    assert (missing["operation"], missing["uetr"], missing["end_to_end_id"], missing["amount"]) == (
        uetr_key(unbooked.uetr), unbooked.uetr, unbooked.end_to_end_id, "20.00")


def test_the_same_payment_booked_twice_is_a_duplicate(bank) -> None:
    _, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-15")
    found = reconcile(run, [Ntry.of(tx, "PAY-15"), Ntry.of(tx, "PAY-15")])
    assert statuses(found) == ["matched", "duplicate"]
    assert categories(found) == ["backing_mismatch", "duplicate"]
    duplicate = next(b for b in found["breaks"] if b["category"] == "duplicate")
    assert duplicate["entry"] == 2 and duplicate["operation"] == uetr_key(tx.uetr)


def test_a_payment_minted_twice_on_the_ledger_shows_the_second_as_a_duplicate(bank) -> None:
    _, run, _ = bank
    tx = mint_tx("100.00", uetr=None)
    pay(run, tx, "PAY-16", "02")
    pay(run, Tx(**{**tx.__dict__}), "PAY-16B", "02")  # the same payment resent under another MsgId
    found = reconcile(run, [Ntry.of(tx, "PAY-16")], version="02")
    assert "duplicate" in categories(found)
    duplicate = next(b for b in found["breaks"] if b["category"] == "duplicate")
    assert duplicate["end_to_end_id"] == tx.end_to_end_id and duplicate["operation"].startswith("sha256:")


def test_credits_that_cannot_be_minted_are_unapplied(bank) -> None:
    store, run, _ = bank
    entries = [Ntry.of(mint_tx("30.00", to=GEORGE), "PAY-17"),  # not tokenized here
               Ntry.of(mint_tx("20.00", to=ERIK), "PAY-18"),  # blocked wallet
               Ntry(amount="10.00", creditor_iban=ALICE, debtor_iban=FATIMA)]  # no UETR, no MsgId
    found = reconcile(run, entries)
    assert statuses(found) == ["unapplied_credit"] * 3
    reasons = [b["reason"] for b in found["breaks"] if b["category"] == "unapplied_credit"]
    assert "not tokenized" in reasons[0] and "blocked" in reasons[1] and "could not be recognised" in reasons[2]
    assert supply(store) == {}


def test_the_backing_invariant_omnibus_closing_equals_supply_at_the_end(bank) -> None:
    _, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-19")
    found = reconcile(run, [Ntry.of(tx, "PAY-19")], opening="500.00")
    assert statuses(found) == ["matched"] and categories(found) == ["backing_mismatch"]
    backing = found["breaks"][0]
    assert (backing["closing_booked"], backing["ledger"], backing["difference"]) == ("600.00", "100.00", "500.00")


def test_the_backing_counts_operations_applied_after_the_statements_end(real_bank) -> None:
    store, run, clock = real_bank
    clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)  # yesterday's statement, today
    found = reconcile(run, [Ntry.of(mint_tx("100.00"), "PAY-20")])
    statement = found["statements"][0]
    assert found["clean"] and statuses(found) == ["minted"]
    assert (statement["ledger"]["closing"], statement["ledger"]["in_flight"]) == ("0.00", "100.00")


def test_a_statement_that_does_not_add_up_is_refused_and_applies_nothing(bank) -> None:
    store, run, _ = bank
    outcome = run.handle(camt053([Ntry.of(mint_tx("100.00"), "PAY-21")], closing="90.00").encode())
    found = report(outcome)
    assert outcome.verdict == "breaks" and categories(found) == ["statement_inconsistent"]
    statement = found["statements"][0]
    assert statement["refused"] and statement["entries"] == []
    assert (found["breaks"][0]["expected_closing"], found["breaks"][0]["closing_booked"]) == ("100.00", "90.00")
    assert supply(store) == {}


# -- reversals -------------------------------------------------------------------------------

def test_a_reversal_undoes_the_mint_of_the_entry_it_reverses(bank) -> None:
    store, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-22")
    credit = Ntry.of(tx, "PAY-22")
    reversal = Ntry.of(tx, "PAY-22", credit=False, reversal=True, booked_at="2026-11-24T15:00:00Z")
    found = reconcile(run, [credit, reversal])
    assert found["clean"], found["breaks"]
    assert statuses(found) == ["matched", "reversed"]
    assert found["statements"][0]["entries"][1]["operation"] == reversal_key(uetr_key(tx.uetr))
    assert supply(store) == {"EUR": 0} and balances(store) == {}
    with store() as uow:
        undone = uow.ledger.find(reversal_key(uetr_key(tx.uetr)))
    assert undone.operation.kind == "burn" and undone.operation.debit_wallet == "w-alice"
    again = reconcile(run, [credit, reversal], dry_run=True)  # new bytes: reconciled again
    assert again["clean"] and statuses(again) == ["matched", "matched"] and supply(store) == {"EUR": 0}


def test_a_reversal_on_a_later_statement_burns_what_the_first_minted(bank) -> None:
    store, run, clock = bank
    tx = mint_tx("100.00")
    assert statuses(reconcile(run, [Ntry.of(tx, "PAY-23")])) == ["minted"]
    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    reversal = Ntry.of(tx, "PAY-23", credit=False, reversal=True, booked_at="2026-11-25T10:00:00Z")
    found = reconcile(run, [reversal], opening="100.00", start="2026-11-25T00:00:00Z", end="2026-11-25T23:59:59Z")
    assert found["clean"] and statuses(found) == ["reversed"]
    assert supply(store) == {"EUR": 0}


def test_a_credit_and_its_reversal_on_one_statement_cancel_out(bank) -> None:
    store, run, _ = bank
    tx = mint_tx("100.00")
    found = reconcile(run, [Ntry.of(tx, "PAY-24"), Ntry.of(tx, "PAY-24", credit=False, reversal=True)])
    assert found["clean"] and statuses(found) == ["reversed", "reversed"]
    assert supply(store) == {}


def test_a_reversal_that_cannot_burn_is_missing_on_ledger(bank) -> None:
    store, run, _ = bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-25")
    pay(run, Tx(amount="100.00", debtor_iban=ALICE, creditor_iban=BRUNO), "PAY-26")  # Alice spent it
    found = reconcile(run, [Ntry.of(tx, "PAY-25", credit=False, reversal=True)], opening="100.00")
    assert "missing_on_ledger" in categories(found)
    assert "AM04" in next(b["reason"] for b in found["breaks"] if b["category"] == "missing_on_ledger")
    assert supply(store) == {"EUR": 10000}


# -- a wallet's statement --------------------------------------------------------------------

def test_a_wallet_statement_is_reconciled_against_its_journal_and_applies_nothing(real_bank) -> None:
    store, run, _ = real_bank
    tx = mint_tx("100.00")
    pay(run, tx, "PAY-27")
    clean = reconcile(run, [Ntry.of(tx, "PAY-27")], account=ALICE)
    assert clean["clean"] and clean["statements"][0]["kind"] == "wallet"
    assert clean["statements"][0]["ledger"]["measure"] == "wallet balance"
    extra = Ntry.of(mint_tx("50.00"), "PAY-28")  # would mint on an omnibus statement
    found = reconcile(run, [Ntry.of(tx, "PAY-27"), extra], account=ALICE)
    assert statuses(found) == ["matched", "missing_on_ledger"]
    assert categories(found) == ["backing_mismatch", "missing_on_ledger"]
    assert supply(store) == {"EUR": 10000}
