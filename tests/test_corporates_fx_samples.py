"""The corporates' stories across currencies (samples/corporates-fx) on the SQL store (SQLite and
PostgreSQL), after samples/corporates: the bank funds its FX positions (pacs.009), Northwind's
dollars pay Lumen's euro wallet (PvP) and Rhein Optik at Commerzbank in euros (the EUR position
burns, a pacs.008 leaves), Helix moves EUR, USD and SGD between its subsidiaries (PvP). Exact
balances, positions and supply; PvP moves no supply; every message written is XSD-valid; replays
change nothing and send nothing."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from adapters.cli import cli
from bridge.accounts import parse_registry_rows
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.fx.rates import parse_rate_csv
from bridge.iso.reader import MessageReader
from pvp_support import Clock
from test_corporates import texts
from test_corporates_sql import BALANCES as BEFORE, CHANNELS, ISSUER, SUPPLY as SUPPLY_BEFORE, state, xsd_checked

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CORPORATES = sorted((SAMPLES / "corporates").glob("*.xml"))
ACROSS = sorted((SAMPLES / "corporates-fx").glob("*.xml"))
RATES = SAMPLES / "fx" / "rates.csv"
FUNDING = {"EUR": 10_000_000, "USD": 10_000_000, "SGD": 20_000_000}  # the pacs.009, minor units
BURNED = {"EUR": 920_000}  # Rhein Optik's fiat leg
BALANCES = BEFORE | {  # minor units after both stories
    ("w-northwind-usd", "USD"): 16_495_000,  # 25,000.00 and 10,000.00 USD out
    ("w-lumen-eur", "EUR"): 2_300_000,
    ("w-helix-treasury-eur", "EUR"): 65_800_000,  # 92,000.00 EUR for 100,000.00 USD
    ("w-helix-americas-usd", "USD"): 25_000_000,  # +100,000.00, then 50,000.00 for 67,111.80 SGD
    ("w-helix-asia-sgd", "SGD"): 20_461_180,
    ("w-helix-treasury-sgd", "SGD"): 27_687_500,  # 73,125.00 SGD for 50,000.00 EUR
    ("w-helix-europe-eur", "EUR"): 30_000_000,
    ("fx-eur", "EUR"): 10_980_000, ("fx-usd", "USD"): 8_500_000, ("fx-sgd", "SGD"): 20_601_320}
SUPPLY = {currency: SUPPLY_BEFORE[currency] + FUNDING[currency] - BURNED.get(currency, 0)
          for currency in SUPPLY_BEFORE}  # PvP minted and burned nothing
RATE_LINES = [
    "PvP USD->EUR rate 0.92 (table): debited 25000.00 USD, credited 23000.00 EUR",
    "PvP USD->EUR rate 0.92 (table): debited 10000.00 USD, credited 9200.00 EUR",
    "PvP EUR->USD rate 1.086956522 (table): debited 92000.00 EUR, credited 100000.00 USD",
    "PvP USD->SGD rate 1.342236 (table): debited 50000.00 USD, credited 67111.80 SGD",
    "PvP SGD->EUR rate 0.6837606838 (table): debited 73125.00 SGD, credited 50000.00 EUR"]


def test_the_stories_across_currencies_end_with_exact_balances_positions_and_supply(registry) -> None:
    with (SAMPLES / "corporates-fx" / "accounts.csv").open(newline="") as handle:
        rows = parse_registry_rows(csv.DictReader(handle))
    with registry() as uow:
        uow.accounts.upsert(rows)
        uow.commit()
    config = BridgeConfig(issuer_bic=ISSUER, corporate_senders=CHANNELS, rates=parse_rate_csv(RATES.read_text()))
    bus = MessageBus(MessageReader(), registry, config, is_transient=registry.is_transient,
                     clock=Clock(datetime(2026, 11, 24, 19, 30, tzinfo=timezone.utc)))
    for path in CORPORATES:
        bus.handle(path.read_bytes())
    outcomes = [bus.handle(path.read_bytes()) for path in ACROSS]
    assert [o.verdict for o in outcomes] == ["accepted"] * 3
    assert all(t.status == "ACSC" for o in outcomes for t in o.transactions)
    assert state(registry) == (BALANCES, SUPPLY)
    replies = [xsd_checked(o.reply.body) for o in outcomes]
    assert replies == ["pacs.002.001.10", "pain.002.001.10", "pain.002.001.12"]
    assert [line for o in outcomes[1:] for line in texts(o.reply.body, "AddtlInf") if line] == RATE_LINES
    [leg] = [m for o in outcomes for m in o.emitted if not m.message_type.startswith("camt.054")]
    assert xsd_checked(leg.body) == "pacs.008.001.08"
    sent = MessageReader().read(leg.body).payload.transactions[0]
    assert (str(sent.amount), sent.creditor_agent.bic) == ("9200.00 EUR", "COBADEFFXXX")
    again = [bus.handle(path.read_bytes()) for path in ACROSS]
    assert all(o.seen_before and o.emitted == () for o in again)
    assert state(registry) == (BALANCES, SUPPLY)


def test_replay_shows_the_fx_positions_and_writes_valid_messages(tmp_path: Path, monkeypatch, store_url) -> None:
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", store_url)
    monkeypatch.setenv("TOKENBRIDGE_ISSUER_BIC", ISSUER)
    monkeypatch.setenv("TOKENBRIDGE_CORPORATE_SENDERS", ",".join(sorted(CHANNELS)))
    monkeypatch.setenv("TOKENBRIDGE_RATES", str(RATES))
    runner = CliRunner()
    for args in (["ledger", "init"], ["accounts", "import", str(SAMPLES / "accounts.csv")],
                 ["accounts", "import", str(SAMPLES / "corporates-fx" / "accounts.csv")],
                 ["replay", str(SAMPLES / "corporates")]):
        assert runner.invoke(cli, args).exit_code in (0, 1)  # corporates/08 is refused on purpose
    out = tmp_path / "out"
    result = runner.invoke(cli, ["replay", "--out", str(out), str(SAMPLES / "corporates-fx")])
    assert result.exit_code == 0, result.output
    written = sorted(out.glob("*.xml"))
    assert len([p for p in written if ".camt.054." not in p.name]) == 4  # 3 replies, 1 fiat leg
    for path in written:
        assert MessageReader().read(path.read_bytes()).valid, path.name
        xsd_checked(path.read_bytes())
    balances = json.loads(runner.invoke(cli, ["balances", "--json"]).output)
    assert balances["fx_positions"] == {"EUR": {"wallet": "fx-eur", "balance": "109800.00"},
                                        "USD": {"wallet": "fx-usd", "balance": "85000.00"},
                                        "SGD": {"wallet": "fx-sgd", "balance": "206013.20"}}
    assert balances["supply"] == {"EUR": "1090800.00", "SGD": "687500.00", "USD": "948150.00"}
    again = runner.invoke(cli, ["replay", str(SAMPLES / "corporates-fx")])
    assert again.exit_code == 0 and json.loads(runner.invoke(cli, ["balances", "--json"]).output) == balances
