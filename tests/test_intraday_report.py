"""camt.052 intraday reports: an account's or a currency supply's day so far, from the start of
the bank's day (TOKENBRIDGE_TIMEZONE) to now: OPBD at the start, ITBD now, the entries so far.
Every version .01 to .14 valid against its official XSD and read back by xmlschema; times come
from an injected clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from builders import Tx, pacs008
from notification_support import account_of, entries_of, schema
from reconcile_support import ALICE, FATIMA, ManualClock, clocked, pipeline

from bridge.iso.bank_to_customer import ACCOUNT_REPORT
from bridge.iso.reader import MessageReader
from bridge.statements_out.service import intraday, ledger_statement, statement_subject

BRUNO = "DE17500199000602517730"


@pytest.mark.parametrize("zone, now, start", [
    ("UTC", datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc), datetime(2026, 11, 24, tzinfo=timezone.utc)),
    # Tokyo's 24th began at 15:00 UTC on the 23rd; at 16:00 UTC on the 24th it is already the 25th there
    ("Asia/Tokyo", datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc), datetime(2026, 11, 23, 15, tzinfo=timezone.utc)),
    ("Asia/Tokyo", datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc), datetime(2026, 11, 24, 15, tzinfo=timezone.utc)),
    ("America/New_York", datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc), datetime(2026, 11, 23, 5, tzinfo=timezone.utc)),
])
def test_the_day_starts_at_midnight_in_the_banks_time_zone(zone: str, now: datetime, start: datetime) -> None:
    assert intraday(now, ZoneInfo(zone)) == (start, now)


@pytest.fixture()
def day(memory_registry):
    """Alice's day so far: minted 100.00 at 09:00:01, paid Bruno 30.00 at 09:00:02 (UTC)."""
    clock = ManualClock()
    store = clocked(memory_registry, clock)
    run = pipeline(store, clock)
    run.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    run.handle(pacs008([Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode())
    return store, clock


def report(store, clock, *, account: str | None = None, currency: str | None = None):
    now = clock()
    start, end = intraday(now, timezone.utc)
    with store() as uow:
        subject = statement_subject(uow.accounts, account=account, currency=currency)
        return ledger_statement(uow, subject, start=start, end=end, message_id="TB-RPT-1", created_at=now,
                                servicer_bic="TOKNDEFFXXX", interim=True)


def read_back(message, version: str) -> tuple[str, list, list]:
    """(account, [(balance type, amount, side)], [(amount, side, EndToEndId)]) by xmlschema."""
    return read_back_bytes(ACCOUNT_REPORT.message(message, version), version)


def read_back_bytes(body: bytes, version: str) -> tuple[str, list, list]:
    read = MessageReader().read(body)
    assert read.valid and read.message_type == version, read.findings
    v01 = version.endswith(".01")
    decoded = schema(version).to_dict(body.decode(), decimal_type=str)
    (item,) = decoded["BkToCstmrAcctRptV01" if v01 else "BkToCstmrAcctRpt"]["Rpt"]
    balances = [((b["Tp"]["Cd"] if v01 else b["Tp"]["CdOrPrtry"]["Cd"]), b["Amt"]["$"], b["CdtDbtInd"])
                for b in item["Bal"]]
    entries = [(e["Amt"]["$"], e["CdtDbtInd"], tx["Refs"]["EndToEndId"]) for e, tx in entries_of(item, version)]
    return account_of(item["Acct"]), balances, entries


@pytest.mark.parametrize("version", ACCOUNT_REPORT.versions)
def test_an_accounts_day_so_far_in_every_version(day, version: str) -> None:
    store, clock = day
    message = report(store, clock, account=ALICE)
    account, balances, entries = read_back(message, version)
    assert account == ALICE
    assert balances == [("OPBD", "0.00", "CRDT"), ("ITBD", "70.00", "CRDT")]
    assert [(amount, side) for amount, side, _ in entries] == [("100.00", "CRDT"), ("30.00", "DBIT")]
    (written,) = message.statements
    assert written.to_time == written.created_at  # up to now, not to a day's last second


@pytest.mark.parametrize("version", ACCOUNT_REPORT.versions)
def test_a_currency_supply_so_far_in_every_version(day, version: str) -> None:
    store, clock = day
    account, balances, entries = read_back(report(store, clock, currency="EUR"), version)
    assert account == "DE56500199000990000018"  # the EUR omnibus account
    assert balances == [("OPBD", "0.00", "CRDT"), ("ITBD", "100.00", "CRDT")]
    assert [(amount, side) for amount, side, _ in entries] == [("100.00", "CRDT")]  # the transfer moves no supply


def test_entries_before_the_days_start_are_in_the_opening_balance(memory_registry) -> None:
    clock = ManualClock()
    store = clocked(memory_registry, clock)
    run = pipeline(store, clock)
    run.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    clock.now += timedelta(days=1)  # the next day
    run.handle(pacs008([Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    account, balances, entries = read_back(report(store, clock, account=ALICE), "camt.052.001.08")
    assert balances == [("OPBD", "100.00", "CRDT"), ("ITBD", "105.00", "CRDT")]
    assert [amount for amount, _, _ in entries] == ["5.00"]


# -- the command ------------------------------------------------------------------------------------

def test_the_statement_command_writes_an_intraday_report(seeded_cli, tmp_path: Path, monkeypatch) -> None:
    samples = Path(__file__).resolve().parents[1] / "samples"
    seeded_cli("replay", str(samples / "pacs008"))
    out = tmp_path / "alice.xml"
    result = seeded_cli("statement", "--account", ALICE, "--intraday", "--out", str(out), "--outbox")
    assert result.exit_code == 0, result.output
    read = MessageReader().read(out.read_bytes())
    assert read.valid and read.message_type == "camt.052.001.08"
    from adapters.bootstrap import open_store
    from adapters.config import load_settings
    store = open_store(load_settings())
    with store() as uow:
        (queued,) = uow.outbox.pending(limit=200)[-1:]
    store.engine.dispose()
    assert queued.message_type == "camt.052.001.08" and queued.body == out.read_bytes()
    _, balances, entries = read_back_bytes(out.read_bytes(), "camt.052.001.08")
    assert balances[-1][0] == "ITBD" and Decimal(balances[-1][1]) > 0 and entries
    monkeypatch.setenv("TOKENBRIDGE_TIMEZONE", "Pacific/Kiritimati")  # UTC+14: another day
    supply = seeded_cli("statement", "--supply", "KWD", "--intraday", "--version", "1")
    assert supply.exit_code == 0 and MessageReader().read(supply.stdout_bytes).message_type == "camt.052.001.01"


@pytest.mark.parametrize("args", [
    ("--supply", "EUR", "--intraday", "--from", "2026-11-24", "--to", "2026-11-24"),
    ("--supply", "EUR"),  # neither a period nor --intraday
    ("--supply", "EUR", "--from", "2026-11-24"),  # half a period
    ("--supply", "EUR", "--intraday", "--version", "15"),
])
def test_the_command_refuses_what_it_cannot_do(seeded_cli, args) -> None:
    assert seeded_cli("statement", *args).exit_code == 2


def test_an_unknown_time_zone_is_refused_before_anything_runs(seeded_cli, monkeypatch) -> None:
    monkeypatch.setenv("TOKENBRIDGE_TIMEZONE", "Mars/Olympus")
    result = seeded_cli("statement", "--supply", "EUR", "--intraday")
    assert result.exit_code == 2 and "TOKENBRIDGE_TIMEZONE" in result.output

