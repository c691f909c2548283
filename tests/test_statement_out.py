"""Statements out: camt.053 from the ledger journal, valid against the official XSD of every
version written, read back the same by the bridge's reader, by the independent `camt053`
package and by xmlschema decoding, and the round trip ledger -> camt.053 -> reconcile = clean.
The ledger is the in-memory fake of the ports (tests/fakes.py); the supply statement is built
from the SQL ledger's journal (SQLite and PostgreSQL) too."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from builders import Tx
from camt053_builders import Ntry, camt053
from reconcile_support import (
    ALICE,
    EUR_OMNIBUS,
    FATIMA,
    ManualClock,
    clocked,
    pipeline,
    report,
)

from bridge.accounts import RegisteredAccount
from bridge.iso.camt053_writer import SUPPORTED_VERSIONS, write_statement_message
from bridge.iso.reader import MessageReader
from bridge.statements_out.journal import (
    StatementSubject,
    account_id,
    journal_statement,
    supply_subject,
)
from bridge.payments.keys import uetr_key
from bridge.reconciliation.statement_mints import ledger_reference, reversal_key

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
DAY = datetime(2026, 11, 24, tzinfo=timezone.utc)
UETR = "5a1e9c2b-3d4f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture()
def story(memory_registry):
    return story_on(memory_registry)


@pytest.fixture()
def real_story(registry):
    return story_on(registry)


def story_on(registry):
    """The sample pacs.008 story, then a statement credit for Alice and its reversal, all on
    2026-11-24: mints, transfers, burns and a reversal in the journal."""
    clock = ManualClock()
    store = clocked(registry, clock)
    run = pipeline(store, clock)
    for path in sorted((SAMPLES / "pacs008").glob("*.xml")):
        run.handle(path.read_bytes())
    tx = Tx(amount="42.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR)
    credit = Ntry.of(tx, "STMT-PAY-1", booked_at="2026-11-24T17:00:00Z")
    reversal = Ntry.of(tx, "STMT-PAY-1", credit=False, reversal=True, booked_at="2026-11-24T17:30:00Z")
    minted = report(run.handle(camt053([credit], opening="10625.00").encode()))
    assert minted["statements"][0]["entries"][0]["status"] == "minted"
    found = report(run.handle(camt053([reversal], opening="10667.00").encode()))
    assert found["statements"][0]["entries"][0]["status"] == "reversed"
    return store, run


def ledger_statement(store, subject: StatementSubject):
    """What `tokenbridge statement` builds, for 2026-11-24."""
    start, end = DAY, DAY + timedelta(days=1)
    with store() as uow:
        accounts = {a.wallet: a.account for a in uow.accounts.all() if a.wallet}
        if subject.is_supply:
            postings = uow.ledger.journal(currency=subject.currency, start=start, end=end)
            opening, closing = (uow.ledger.supply(as_of=t).get(subject.currency, 0) for t in (start, end))
        else:
            postings = uow.ledger.journal(wallet=subject.wallet, currency=subject.currency, start=start, end=end)
            opening, closing = (next((b.balance for b in uow.ledger.balances(as_of=t) if b.wallet == subject.wallet), 0)
                                for t in (start, end))
    return journal_statement(subject, postings, opening=opening, closing=closing, start=start, end=end,
                             message_id="TB-OUT-1", created_at=DAY + timedelta(days=1, minutes=5),
                             accounts_by_wallet=accounts, servicer_bic="TOKNDEFFXXX")


SUBJECTS = {
    "eur-supply": supply_subject("EUR", EUR_OMNIBUS),
    # The registry names this omnibus account by an Othr/Id in the TOKENBANK scheme: so must its statement.
    "jpy-supply": supply_subject("JPY", RegisteredAccount("TOKN-OMNIBUS-JPY", "JPY", None, kind="omnibus",
                                                          scheme="Prtry:TOKENBANK")),
    "alice": StatementSubject(account_id(ALICE), "EUR", "w-alice"),
}


def test_the_supply_statement_has_an_entry_per_mint_and_burn_with_the_ledgers_reference(real_story) -> None:
    store, _ = real_story
    message = ledger_statement(store, SUBJECTS["eur-supply"])
    (statement,) = message.statements
    assert [(b.type, b.amount.value) for b in statement.balances] == [("OPBD", Decimal("0.00")), ("CLBD", Decimal("10625.00"))]
    assert [(e.credit_debit, str(e.amount.value), e.reversal) for e in statement.entries] == [
        ("CRDT", "1250.00", False), ("CRDT", "10000.00", False), ("DBIT", "1000.00", False),
        ("CRDT", "300.00", False), ("CRDT", "75.00", False), ("CRDT", "42.00", False), ("DBIT", "42.00", True)]
    reversal = statement.entries[-1]
    assert reversal.account_servicer_ref == ledger_reference(reversal_key(uetr_key(UETR)))
    assert reversal.bank_transaction_code == "PMNT/RCDT/RRTN" and reversal.details[0].uetr == UETR
    assert statement.entries[0].details[0].creditor.account.iban == ALICE


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_version_is_valid_against_its_official_xsd_and_reads_back_the_same(story, version: str) -> None:
    store, _ = story
    for subject in SUBJECTS.values():
        message = ledger_statement(store, subject)
        read = MessageReader().read(write_statement_message(message, version))
        assert read.valid, [str(f) for f in read.findings[:3]]
        assert read.message_type == version
        (written,), (back,) = message.statements, read.payload.statements
        assert back.account == written.account and back.balances == written.balances
        assert (back.from_time, back.to_time) == (written.from_time, written.to_time)
        assert len(back.entries) == len(written.entries)
        for w, b in zip(written.entries, back.entries, strict=True):
            assert (b.amount, b.credit_debit, b.status, b.reversal, b.account_servicer_ref, b.booking_date,
                    b.bank_transaction_code) == (w.amount, w.credit_debit, w.status, w.reversal,
                                                 w.account_servicer_ref, w.booking_date, w.bank_transaction_code)
            (wd,), (bd,) = w.details, b.details
            assert (bd.amount, bd.end_to_end_id, bd.message_id, bd.transaction_id, bd.account_servicer_ref) == (
                wd.amount, wd.end_to_end_id, wd.message_id, wd.transaction_id, wd.account_servicer_ref)
            assert bd.uetr == (wd.uetr if int(version[-2:]) >= 8 else None)
            assert (bd.creditor.account if bd.creditor else None) == (wd.creditor.account if wd.creditor else None)


@pytest.mark.parametrize("version", ["camt.053.001.02", "camt.053.001.08", "camt.053.001.14"])
def test_the_independent_camt053_package_reads_the_same_balances_and_entries(story, version: str) -> None:
    camt053_package = pytest.importorskip("camt053")
    store, _ = story
    for subject in SUBJECTS.values():
        message = ledger_statement(store, subject)
        parsed = camt053_package.parse_document(write_statement_message(message, version).decode())
        (written,), (back,) = message.statements, parsed.statements
        assert parsed.message_type == version
        assert [(b.type_code, Decimal(b.amount), b.credit_debit_indicator) for b in back.balances] == [
            (b.type, b.amount.value, b.credit_debit) for b in written.balances]
        assert [(Decimal(e.amount), e.currency, e.credit_debit_indicator, e.status, e.account_servicer_ref,
                 e.reversal_indicator, e.details[0].end_to_end_id, e.details[0].tx_id) for e in back.entries] == [
            (e.amount.value, e.amount.currency, e.credit_debit, e.status, e.account_servicer_ref, e.reversal,
             e.details[0].end_to_end_id, e.details[0].transaction_id) for e in written.entries]


@pytest.mark.parametrize("version", ["camt.053.001.02", "camt.053.001.08", "camt.053.001.14"])
def test_xmlschema_decoding_reads_the_same_balances_and_entries(story, version: str) -> None:
    import xmlschema
    store, _ = story
    message = ledger_statement(store, SUBJECTS["eur-supply"])
    schema = xmlschema.XMLSchema(str(SCHEMAS / f"{version}.xsd"))
    decoded = schema.to_dict(write_statement_message(message, version).decode(), decimal_type=str)
    (stmt,) = decoded["BkToCstmrStmt"]["Stmt"]
    (written,) = message.statements

    def amount(node) -> tuple[str, str]:
        return node["$"], node["@Ccy"]

    assert [(b["Tp"]["CdOrPrtry"]["Cd"], amount(b["Amt"]), b["CdtDbtInd"]) for b in stmt["Bal"]] == [
        (b.type, (str(b.amount.value), "EUR"), b.credit_debit) for b in written.balances]
    assert [(amount(n["Amt"]), n["CdtDbtInd"], n.get("RvslInd", False), n["AcctSvcrRef"],
             n["NtryDtls"][0]["TxDtls"][0]["Refs"]["EndToEndId"]) for n in stmt["Ntry"]] == [
        ((str(e.amount.value), "EUR"), e.credit_debit, e.reversal, e.account_servicer_ref,
         e.details[0].end_to_end_id) for e in written.entries]


@pytest.mark.parametrize("version", ["camt.053.001.02", "camt.053.001.08", "camt.053.001.14"])
def test_round_trip_ledger_to_camt053_and_back_reconciles_clean(story, version: str) -> None:
    store, run = story
    for name, subject in SUBJECTS.items():
        message = ledger_statement(store, subject)
        found = report(run.handle(write_statement_message(message, version)))
        assert found["clean"], (name, found["breaks"])
        assert {e["status"] for e in found["statements"][0]["entries"]} == {"matched"}
        matched_on = {e["matched_on"] for e in found["statements"][0]["entries"]}
        assert matched_on <= {"uetr", "end_to_end_id", "account_servicer_ref"}
    with store() as uow:
        assert uow.ledger.supply() == {"EUR": 1062500, "JPY": 150000, "KWD": 12345}


# -- the command ------------------------------------------------------------------------------------

@pytest.fixture()
def tokenbridge(seeded_cli):
    return seeded_cli


def test_the_statement_command_writes_valid_camt053_and_queues_it_for_the_worker(tokenbridge, tmp_path: Path) -> None:
    tokenbridge("replay", str(SAMPLES / "pacs008"))
    today = datetime.now(timezone.utc).date().isoformat()
    out = tmp_path / "supply.xml"
    result = tokenbridge("statement", "--supply", "EUR", "--from", today, "--to", today, "--out", str(out), "--outbox")
    assert result.exit_code == 0, result.output
    read = MessageReader().read(out.read_bytes())
    assert read.valid and read.message_type == "camt.053.001.08"
    assert read.payload.statements[0].balance("CLBD").amount.value == Decimal("10625.00")
    from adapters.bootstrap import open_store
    from adapters.config import load_settings
    store = open_store(load_settings())
    with store() as uow:
        (queued,) = uow.outbox.pending(limit=100)[-1:]
    store.engine.dispose()
    assert queued.message_type == "camt.053.001.08" and queued.body == out.read_bytes()
    wallet = tokenbridge("statement", "--account", ALICE, "--from", today, "--to", today, "--version", "2")
    assert wallet.exit_code == 0 and "camt.053.001.02" in wallet.output
    reconciled = tokenbridge("reconcile", "--json", str(out))
    assert reconciled.exit_code == 0 and json.loads(reconciled.stdout)["clean"]


@pytest.mark.parametrize("args, code", [
    (("--from", "2026-11-24", "--to", "2026-11-24"), 2),  # neither --account nor --supply
    (("--supply", "EUR", "--account", ALICE, "--from", "2026-11-24", "--to", "2026-11-24"), 2),
    (("--supply", "EUR", "--from", "2026-11-25", "--to", "2026-11-24"), 2),
    (("--supply", "EUR", "--from", "2026-11-24", "--to", "2026-11-24", "--version", "01"), 2),
    (("--account", "GB00NOPE", "--from", "2026-11-24", "--to", "2026-11-24"), 1),
    (("--supply", "XXX", "--from", "2026-11-24", "--to", "2026-11-24"), 2),  # ISO 4217 "no currency"
    (("--supply", "EURO", "--from", "2026-11-24", "--to", "2026-11-24"), 2),
    (("--supply", "USD", "--from", "2026-11-24", "--to", "2026-11-24"), 1),  # no USD token here
])
def test_the_statement_command_refuses_what_it_cannot_do(tokenbridge, args, code: int) -> None:
    assert tokenbridge("statement", *args).exit_code == code


def test_a_code_that_is_not_a_currency_or_has_no_token_is_said_not_a_traceback(tokenbridge) -> None:
    not_currency = tokenbridge("statement", "--supply", "XXX", "--from", "2026-11-24", "--to", "2026-11-24")
    assert not_currency.exit_code == 2 and "XXX has no minor unit in ISO 4217" in not_currency.output
    assert "Traceback" not in not_currency.output
    no_token = tokenbridge("statement", "--supply", "usd", "--from", "2026-11-24", "--to", "2026-11-24")
    assert no_token.exit_code == 1 and no_token.stdout_bytes.count(b"<") == 0  # nothing written
    assert "the bank has no USD token" in no_token.output


def test_an_empty_period_is_a_valid_statement_with_equal_balances(tokenbridge) -> None:
    result = tokenbridge("statement", "--supply", "KWD", "--from", "2020-01-01", "--to", "2020-01-02", "--version", "14")
    assert result.exit_code == 0
    read = MessageReader().read(result.stdout_bytes)
    assert read.valid and read.payload.statements[0].entries == ()
    assert read.payload.statements[0].balance("OPBD").amount.value == Decimal("0.000")
    assert str(date(2020, 1, 2)) in result.output
