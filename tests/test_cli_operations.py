"""The operators' commands on the embedded default: ledger init, accounts, replay, balances, demo."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from builders import Tx, pacs008

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture()
def tokenbridge(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    return invoke


def test_commands_need_an_initialised_store(tokenbridge) -> None:
    result = tokenbridge("balances")
    assert result.exit_code == 1 and "tokenbridge ledger init" in result.output


def test_ledger_init_is_idempotent(tokenbridge) -> None:
    assert tokenbridge("ledger", "init").exit_code == 0
    second = tokenbridge("ledger", "init")
    from adapters.sql.engine import MIGRATIONS
    newest = max(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert second.exit_code == 0 and f"revision {newest}" in second.output
    assert json.loads(tokenbridge("ledger", "info", "--json").output)["ledger"] == "sql"


def test_accounts_import_is_all_or_nothing(tokenbridge, tmp_path: Path) -> None:
    tokenbridge("ledger", "init")
    bad = tmp_path / "bad.csv"
    bad.write_text("account,currency,wallet,status,kind\nDE1,EUR,w-1,active,wallet\n"
                   "DE2,EUX,w-2,active,wallet\nDE3,EUR,,active,wallet\nDE4,EUR,w-4,frozen,wallet\n")
    result = tokenbridge("accounts", "import", str(bad))
    assert result.exit_code == 1
    for line in ("line 3", "line 4", "line 5"):
        assert line in result.output
    assert json.loads(tokenbridge("accounts", "list", "--json").output) == []
    assert tokenbridge("accounts", "import", str(SAMPLES / "accounts.csv")).exit_code == 0
    listed = json.loads(tokenbridge("accounts", "list", "--json").output)
    assert len(listed) == 19 and {"account", "currency", "wallet", "status", "kind", "group"} <= set(listed[0])


def test_replay_writes_replies_exits_by_verdict_and_balances_add_up(tokenbridge, tmp_path: Path) -> None:
    tokenbridge("ledger", "init")
    tokenbridge("accounts", "import", str(SAMPLES / "accounts.csv"))
    out = tmp_path / "replies"
    result = tokenbridge("replay", "--out", str(out), str(SAMPLES / "pacs008"))
    assert result.exit_code == 1  # the samples include a partial and a rejected message
    assert "Replay summary" in result.output and "rejected AC06" in result.output
    assert len(list(out.glob("*.pacs.002.*.xml"))) == 9
    balances = json.loads(tokenbridge("balances", "--json").output)
    assert balances["supply"] == {"EUR": "10625.00", "JPY": "150000", "KWD": "12.345"}
    assert {"wallet": "w-alice", "currency": "EUR", "balance": "1324.60"} in balances["wallets"]
    again = tokenbridge("replay", str(SAMPLES / "pacs008"))
    assert "seen before" in again.output
    assert json.loads(tokenbridge("balances", "--json").output) == balances


def test_replay_all_accepted_exits_0_and_dry_run_applies_nothing(tokenbridge, tmp_path: Path) -> None:
    tokenbridge("ledger", "init")
    tokenbridge("accounts", "import", str(SAMPLES / "accounts.csv"))
    message = tmp_path / "m.xml"
    message.write_text(pacs008([Tx(creditor_iban="DE82500199000417283905")]))
    dry = tokenbridge("replay", "--dry-run", str(message))
    assert dry.exit_code == 0 and "dry run" in dry.output
    assert json.loads(tokenbridge("balances", "--json").output)["supply"] == {}
    assert tokenbridge("replay", str(message)).exit_code == 0
    assert json.loads(tokenbridge("balances", "--json").output)["supply"] == {"EUR": "100.00"}


def test_replay_applies_and_answers_the_2026_release(tokenbridge, tmp_path: Path) -> None:
    """pacs.008.001.14 is applied and answered with a valid pacs.002.001.16; a pacs.004.001.15
    returning a payment never received is answered RJCT AG09 (pacs.002.001.16, issue 15)."""
    from bridge.iso.reader import MessageReader
    tokenbridge("ledger", "init")
    tokenbridge("accounts", "import", str(SAMPLES / "accounts.csv"))
    inbox, out = tmp_path / "in", tmp_path / "replies"
    inbox.mkdir()
    (inbox / "a-pacs008-v14.xml").write_text(
        pacs008([Tx(amount="42.00", creditor_iban="DE82500199000417283905")], version="14", msg_id="V14-1"))
    (inbox / "b-pacs004-v15.xml").write_text(
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.004.001.15"><PmtRtr><GrpHdr>'
        "<MsgId>RTR-15</MsgId><CreDtTm>2026-11-24T10:00:00Z</CreDtTm><NbOfTxs>1</NbOfTxs>"
        "<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf></GrpHdr><TxInf><OrgnlEndToEndId>E2E-1"
        '</OrgnlEndToEndId><RtrdIntrBkSttlmAmt Ccy="EUR">1.00</RtrdIntrBkSttlmAmt></TxInf></PmtRtr></Document>')
    result = tokenbridge("replay", "--out", str(out), str(inbox))
    said = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 1 and "b-pacs004-v15.xml: RJCT AG09" in said
    # the accepted mint is notified to Alice's account (camt.054), after its reply
    (notice,) = out.glob("*.camt.054.001.08.xml")
    assert notice.name == "a-pacs008-v14.2.camt.054.001.08.xml"
    replies = sorted(p for p in out.glob("*.xml") if p != notice)
    assert [p.name for p in replies] == ["a-pacs008-v14.1.pacs.002.001.16.xml", "b-pacs004-v15.pacs.002.001.16.xml"]
    for reply in replies:
        read = MessageReader().read(reply.read_bytes())
        assert read.valid and read.message_type == "pacs.002.001.16", read.findings
    assert json.loads(tokenbridge("balances", "--json").output)["supply"] == {"EUR": "42.00"}
    assert "seen before" in tokenbridge("replay", str(inbox)).output
    assert json.loads(tokenbridge("balances", "--json").output)["supply"] == {"EUR": "42.00"}


def test_replay_usage_errors_exit_2(tokenbridge) -> None:
    assert tokenbridge("replay").exit_code == 2
    assert tokenbridge("replay", "/no/such/dir").exit_code == 2


def test_demo_tells_the_whole_story(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--samples", str(SAMPLES)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for expected in ("a fresh ledger", "imported 19 account(s)", "mint 1250.00 EUR", "RJCT AC03",
                     "Token supply", "10625.00",
                     # the corporates' stories: a transfer, burns with their fiat legs, a refusal
                     "the corporates' stories", "48200.00 USD w-northwind-usd -> w-lumen-usd",
                     "burn 12500.00", "RJCT AG01", "199950.00", "1010625.00", "848150.00", "487500.00",
                     # across currencies: the FX positions funded, PvP, the EUR fiat leg; supply
                     # moved by the funding and the burn only
                     "across currencies", "imported 4 account(s)", "FX positions",
                     "w-lumen-eur", "164950.00", "204611.80", "109800.00", "85000.00", "206013.20",
                     "1101425.00", "948150.00", "687500.00"):
        assert expected in result.output
    sent = [p.name for p in (tmp_path / "tokenbridge-demo" / "replies").glob("*.xml")]
    replies = [name for name in sent if ".camt.054." not in name]
    assert len(replies) == 9 + 10 + 4  # today's story, the corporates', then across currencies
    assert len([name for name in replies if name.endswith(".pacs.008.001.08.xml")]) == 3
    assert len([name for name in sent if ".camt.054." in name]) >= 10  # each account each payment touched
    pvp = next(name for name in replies if name.startswith("03-treasury-helix-moves-across"))
    assert "PvP SGD-&gt;EUR rate 0.6837606838 (table): debited 73125.00 SGD, credited 50000.00 EUR" in (
        tmp_path / "tokenbridge-demo" / "replies" / pvp).read_text()
    for name in ("TOKENBRIDGE_CORPORATE_SENDERS", "TOKENBRIDGE_RATES"):
        assert name not in os.environ  # the demo's settings do not stay


def test_database_password_never_shown(monkeypatch) -> None:
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", "postgresql://bridge:s3cr3t-pw@127.0.0.1:1/none")
    result = CliRunner().invoke(cli, ["balances"])
    assert result.exit_code == 1 and "s3cr3t-pw" not in result.output


def test_replay_shows_a_statement_with_breaks_under_the_authorisation_settings(tokenbridge, monkeypatch) -> None:
    monkeypatch.setenv("TOKENBRIDGE_ISSUER_BIC", "TOKNDEFFXXX")
    monkeypatch.setenv("TOKENBRIDGE_ALLOWED_SENDERS", "BNPAFRPPXXX,BARCGB22XXX,BPKOPLPWXXX")
    tokenbridge("ledger", "init")
    tokenbridge("accounts", "import", str(SAMPLES / "accounts.csv"))
    # the EUR statement before its payments: its credits mint, its debit has no burn (a break)
    result = tokenbridge("replay", str(SAMPLES / "camt053" / "01-eur-omnibus-2026-11-24-v08.xml"))
    assert result.exit_code == 1 and "breaks" in result.output and "missing_on_ledger" in result.output


def test_the_commands_load_without_the_evm_extra() -> None:
    """The README's set-up installs the base package only: no command may import web3 or
    eth_abi unless the EVM ledger is chosen (it is loaded through its entry point then)."""
    import subprocess
    import sys
    blocked = ("import sys\n"
               "for name in ('web3', 'eth_abi', 'eth_account', 'eth_tester', 'eth_utils'):\n"
               "    sys.modules[name] = None\n"
               "from adapters.cli import cli\n"
               "print(sorted(cli.commands))\n")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "audit" in done.stdout and "status" in done.stdout
