"""The FX story in samples/ (samples/fx, samples/pacs009, samples/pvp) through the commands, as
an operator runs it: `accounts import` with the `institution` and `fx` kinds, `replay` with the
rate table, `balances` with the FX positions, `status` of the cover. Exact balances and supply;
every reply XSD-valid."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from bridge.iso.reader import MessageReader

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture()
def fx_cli(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("TOKENBRIDGE_ISSUER_BIC", "TOKNDEFFXXX")
    monkeypatch.setenv("TOKENBRIDGE_RATES", str(SAMPLES / "fx" / "rates.csv"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    assert invoke("ledger", "init").exit_code == 0
    assert invoke("accounts", "import", str(SAMPLES / "fx" / "accounts.csv")).exit_code == 0
    return invoke


def test_the_fx_story_replays_to_exact_balances_positions_and_supply(fx_cli, tmp_path) -> None:
    out = tmp_path / "replies"
    result = fx_cli("replay", "--out", str(out), str(SAMPLES / "pacs009"), str(SAMPLES / "pvp"))
    assert result.exit_code == 0, result.output
    balances = json.loads(fx_cli("balances", "--json").output)
    wallets = {(w["wallet"], w["currency"]): w["balance"] for w in balances["wallets"]}
    assert wallets == {
        ("fx-eur", "EUR"): "4908.00",  # 5,000.00 funded, 92.00 paid to the supplier
        ("w-commerzbank", "EUR"): "2500000.00",
        ("w-supplier-cn", "EUR"): "572.00",  # 92.00 by PvP + 480.00 once (cover and pacs.008)
        ("fx-usd", "USD"): "100.00",
        ("w-buyer-us", "USD"): "900.00",
    }
    assert balances["supply"] == {"EUR": "2505480.00", "USD": "1000.00"}  # PvP minted nothing
    assert balances["fx_positions"] == {"EUR": {"wallet": "fx-eur", "balance": "4908.00"},
                                        "USD": {"wallet": "fx-usd", "balance": "100.00"}}
    sent = sorted(out.glob("*.xml"))
    assert all(MessageReader().read(r.read_bytes()).valid for r in sent)
    replies = [r for r in sent if ".camt.054." not in r.name]
    assert len(replies) == 6 and len(sent) > 6  # and the camt.054 of each account touched
    pvp = next(r for r in replies if r.name.startswith("02-pvp")).read_text()
    assert "PvP USD-&gt;EUR rate 0.92 (message): debited 100.00 USD, credited 92.00 EUR" in pvp


def test_status_shows_the_cover_and_the_fx_leg(fx_cli) -> None:
    fx_cli("replay", str(SAMPLES / "pacs009"), str(SAMPLES / "pvp"))
    cover = json.loads(fx_cli("status", "2d8f3e40-ac5e-4f70-9b82-9c0d1e2f3041", "--json").output)
    [moved] = cover["messages"]  # the message whose operation moved the money: the cover, first
    assert moved["message_type"] == "pacs.009.001.08"
    assert moved["transactions"][0]["underlying"] == "cover for Fatima Ouali -> Shenzhen Parts Co. 480.00 EUR"
    direct = json.loads(fx_cli("status", "BNPA-EUR-20261124-7", "--json").output)
    [transaction] = direct["messages"][0]["transactions"]
    assert transaction["status"] == "ACSC" and transaction["operation"]["key"] == moved[
        "transactions"][0]["operation"]["key"]  # one operation for both messages
    pvp = json.loads(fx_cli("status", "ORDER-88412", "--json").output)
    leg = pvp["messages"][0]["transactions"][0]["fx_leg"]
    assert (leg["debit_wallet"], leg["credit_wallet"], leg["amount"]) == ("fx-eur", "w-supplier-cn", "92.00")


def test_a_bad_rate_table_stops_the_command_with_exit_2(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "rates.csv"
    bad.write_text("base,quote,rate,valid_from,valid_until\nUSD,EUR,-1,2026-11-24T00:00:00Z,2027-01-01T00:00:00Z\n")
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("TOKENBRIDGE_RATES", str(bad))
    result = CliRunner().invoke(cli, ["balances"])
    assert result.exit_code == 2
    assert "TOKENBRIDGE_RATES is not a usable rate table: line 2: rate -1 is not positive" in result.output
