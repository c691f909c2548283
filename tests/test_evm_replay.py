"""End to end: the sample payments on the SQL ledger and on the EVM ledger end equal; the
commands on a real node (anvil); a worker killed between submit and confirm mints nothing twice.

The sample registry names wallets (w-alice); on EVM a wallet is an address, so the tests write
a test-only copy of samples/accounts.csv with a deterministic address for each name.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import start_anvil
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from ledger_contract import ManualClock

from adapters.bootstrap import build_bus, ledger_plugin, open_store
from adapters.cli import cli
from adapters.config import Settings, load_settings
from adapters.evm.devchain import AnvilNode, TesterChain
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import parse_registry_rows

pytestmark = pytest.mark.slow  # anvil and replay processes

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
MESSAGES = sorted((SAMPLES / "pacs008").glob("*.xml"))


def address_of(name: str) -> str:
    return to_checksum_address(keccak(text=f"tokenbridge-test:{name}")[-20:])


def evm_accounts_csv(path: Path) -> tuple[Path, dict[str, str]]:
    """samples/accounts.csv with each wallet name replaced by its address; address -> name."""
    names: dict[str, str] = {}
    with (SAMPLES / "accounts.csv").open(newline="") as source, path.open("w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["wallet"]:
                names[address_of(row["wallet"])] = row["wallet"]
                row["wallet"] = address_of(row["wallet"])
            writer.writerow(row)
    return path, names


def import_registry(store, csv_path: Path) -> None:
    with csv_path.open(newline="") as handle:
        rows = parse_registry_rows(csv.DictReader(handle))
    with store() as uow:
        uow.accounts.upsert(rows)
        uow.commit()


def outcome_summary(outcome) -> list[tuple[str, str | None]]:
    """Per transaction: accepted (ACSC on SQL, ACSP then ACSC on EVM) or the reject reason."""
    return [("accepted" if t.status in ("ACSC", "ACSP") else t.status, t.reason)
            for t in outcome.transactions]


def sql_replay(tmp_path: Path):
    """The samples on the SQL ledger: per-message summaries, balances by name, supply."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'sql.db'}")
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    import_registry(store, SAMPLES / "accounts.csv")
    pipeline = build_bus(Settings(), store)
    summaries = [outcome_summary(pipeline.handle(path.read_bytes())) for path in MESSAGES]
    with store() as uow:
        balances = {(b.wallet, b.currency): b.balance for b in uow.ledger.balances() if b.balance}
        supply = {c: v for c, v in uow.ledger.supply().items() if v}
    engine.dispose()
    return summaries, balances, supply


def evm_bank(devchain, tmp_path: Path):
    """A SQLite store on the EVM ledger of `devchain` (a funded issuer, a token per sample
    currency, the sample registry with addresses): settings, plugin, store, contracts, and the
    wallet name of each address."""
    issuer = Account.create()
    devchain.fund(issuer.address)
    clock = ManualClock(datetime.fromtimestamp(devchain.latest_timestamp() + 3600, UTC),
                        timedelta(minutes=1))
    settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR,JPY,KWD")
    plugin = EvmLedgerPlugin(settings, web3=devchain.web3, clock=clock)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'evm.db'}")
    migrate(engine)
    store = SqlStore(engine, plugin, clock=clock)
    contracts = plugin.initialise(store)["contracts"]
    csv_path, names = evm_accounts_csv(tmp_path / "accounts-evm.csv")
    import_registry(store, csv_path)
    return settings, plugin, store, contracts, names


@pytest.fixture(scope="module")
def anvil():
    node = start_anvil()
    yield node
    node.stop()


@pytest.fixture(params=["eth-tester", "anvil"])
def devchain(request):
    return TesterChain() if request.param == "eth-tester" else request.getfixturevalue("anvil")


def test_the_samples_end_equal_on_the_sql_and_the_evm_ledger(devchain, tmp_path) -> None:
    expected_summaries, expected_balances, expected_supply = sql_replay(tmp_path)
    assert expected_supply  # the samples do mint

    settings, plugin, store, contracts, names = evm_bank(devchain, tmp_path)
    pipeline = build_bus(settings, store)
    settler = plugin.settler(store)

    summaries, final = [], {}
    for path in MESSAGES:
        outcome = pipeline.handle(path.read_bytes())
        summaries.append(outcome_summary(outcome))
        assert {t.status for t in outcome.transactions} <= {"ACSP", "RJCT"}  # never ACSC at once
        for change in settler.settle():
            final[change.key] = change.new_status
    assert summaries == expected_summaries
    assert set(final.values()) == {"ACSC"}
    assert len(final) == sum(s == "accepted" for message in summaries for s, _ in message)

    with store() as uow:
        balances = {(names[b.wallet], b.currency): b.balance for b in uow.ledger.balances() if b.balance}
        supply = {c: v for c, v in uow.ledger.supply().items() if v}
    assert (balances, supply) == (expected_balances, expected_supply)
    # And straight from the contracts: totalSupply and balanceOf agree.
    chain = plugin.chain
    assert {c: chain.token_call(contracts[c], "totalSupply") for c in expected_supply} == expected_supply
    assert {(w, c): chain.token_call(contracts[c], "balanceOf", address_of(w))
            for (w, c) in expected_balances} == expected_balances

    # Replaying everything again changes nothing: the inbox answers, the chain is untouched.
    supply_before = {c: chain.token_call(a, "totalSupply") for c, a in contracts.items()}
    assert all(pipeline.handle(p.read_bytes()).seen_before for p in MESSAGES)
    assert settler.settle() == []
    assert {c: chain.token_call(a, "totalSupply") for c, a in contracts.items()} == supply_before


# -- the commands and a killed worker, on anvil ----------------------------------------------

def evm_environment(node: AnvilNode, tmp_path: Path, **extra: str) -> dict[str, str]:
    issuer = Account.create()
    node.fund(issuer.address)
    return {"TOKENBRIDGE_LEDGER": "evm", "TOKENBRIDGE_EVM_URL": node.url,
            "TOKENBRIDGE_EVM_KEY": issuer.key.hex(),
            "TOKENBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
            "TOKENBRIDGE_EVM_CURRENCIES": "EUR,JPY,KWD", **extra}


def test_ledger_init_deploys_once_and_info_lists_the_contracts(anvil, tmp_path) -> None:
    env = evm_environment(anvil, tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["ledger", "init"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count("(deployed)") == 3
    info = runner.invoke(cli, ["ledger", "info", "--json"], env=env)
    described = json.loads(info.output)
    assert described["ledger"] == "evm" and set(described["contracts"]) == {"EUR", "JPY", "KWD"}
    assert all(a.startswith("0x") and len(a) == 42 for a in described["contracts"].values())
    again = runner.invoke(cli, ["ledger", "init"], env=env)
    assert again.exit_code == 0 and "(deployed)" not in again.output
    assert json.loads(runner.invoke(cli, ["ledger", "info", "--json"], env=env).output)["contracts"] == \
        described["contracts"]
    for shown in (first.output, info.output, again.output):
        assert env["TOKENBRIDGE_EVM_KEY"].removeprefix("0x") not in shown
    # A node that is not there: exit 1 with a reason, and still no key.
    down = runner.invoke(cli, ["ledger", "init"], env={**env, "TOKENBRIDGE_EVM_URL": "http://127.0.0.1:9",
                                                      "TOKENBRIDGE_EVM_CURRENCIES": "USD"})
    assert down.exit_code == 1 and env["TOKENBRIDGE_EVM_KEY"].removeprefix("0x") not in down.output


def test_balances_command_reads_the_chain(anvil, tmp_path) -> None:
    env = evm_environment(anvil, tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "init"], env=env).exit_code == 0
    csv_path, _ = evm_accounts_csv(tmp_path / "accounts.csv")
    assert runner.invoke(cli, ["accounts", "import", str(csv_path)], env=env).exit_code == 0
    replayed = runner.invoke(cli, ["replay", str(MESSAGES[0])], env=env)
    assert "ACSP" in replayed.output
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = load_settings()
        store = open_store(settings)
        settler = ledger_plugin(settings).settler(store)
        # settle() submits, then confirms once the node has mined; on a loaded machine the
        # first call may only submit. Call it until the change comes (at most ~5 s).
        changes = []
        for _ in range(50):
            changes += settler.settle()
            if changes:
                break
            time.sleep(0.1)
        assert [c.new_status for c in changes] == ["ACSC"]
        store.engine.dispose()
    shown = json.loads(runner.invoke(cli, ["balances", "--json"], env=env).output)
    assert shown["supply"] == {"EUR": "1250.00"} and shown["wallets"] == [
        {"wallet": address_of("w-alice"), "currency": "EUR", "balance": "1250.00"}]


WORKER = """
import sys, time
from pathlib import Path
from adapters.bootstrap import build_bus, ledger_plugin, open_store
from adapters.config import load_settings

settings = load_settings()
store = open_store(settings)
pipeline = build_bus(settings, store)
for path in sys.argv[2:]:
    pipeline.handle(Path(path).read_bytes())
plugin = store.ledger_plugin
settler = plugin.settler(store)
if sys.argv[1] == "before-broadcast":
    def stuck(raws):
        print("RECORDED", flush=True)
        time.sleep(120)
    plugin.chain.send = plugin.chain.send_many = stuck
settler.submit()
print("SUBMITTED", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("moment", ["before-broadcast", "after-broadcast"])
def test_a_worker_killed_between_submit_and_confirm_mints_nothing_twice(anvil, tmp_path, moment) -> None:
    """kill -9 the worker once its transactions are recorded as submitted (and, or not yet,
    broadcast); a restarted worker confirms each operation exactly once."""
    _, expected_balances, expected_supply = sql_replay(tmp_path)
    env = evm_environment(anvil, tmp_path, TOKENBRIDGE_EVM_CONFIRMATIONS="2")
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "init"], env=env).exit_code == 0
    csv_path, _ = evm_accounts_csv(tmp_path / "accounts.csv")
    assert runner.invoke(cli, ["accounts", "import", str(csv_path)], env=env).exit_code == 0

    child_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, moment, *map(str, MESSAGES)], cwd=tmp_path,
                              env=child_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        awaited = "RECORDED" if moment == "before-broadcast" else "SUBMITTED"
        said = ""
        for line in worker.stdout:
            said = line.strip()
            if said in ("RECORDED", "SUBMITTED"):
                break
        assert said == awaited, f"the worker said {said!r} before being killed, not {awaited}"
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # the worker, by its PID
        worker.wait(timeout=30)
        worker.stdout.close()

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = load_settings()
        store = open_store(settings)
        plugin = store.ledger_plugin
        chain = plugin.chain
        contracts = plugin.contracts(store.engine)
        from sqlalchemy import select

        from adapters.evm.tables import evm_operations
        with store.engine.connect() as connection:
            recorded = {r.key: (r.state, r.tx_hash) for r in connection.execute(select(evm_operations))}
        assert recorded and {state for state, _ in recorded.values()} == {"submitted"}
        assert {c: chain.token_call(a, "totalSupply") for c, a in contracts.items()} == (
            {c: 0 for c in contracts} if moment == "before-broadcast" else
            {c: expected_supply.get(c, 0) for c in contracts})

        sent: list[bytes] = []
        send, send_many = chain.send, chain.send_many
        chain.send = lambda raw: sent.append(raw) or send(raw)
        chain.send_many = lambda raws: sent.extend(raws) or send_many(raws)
        settler = plugin.settler(store)
        confirmed = {}
        for _ in range(10):
            confirmed.update({c.key: c.new_status for c in settler.settle()})
            if not settler.pending():
                break
            anvil.mine()
        assert confirmed == {key: "ACSC" for key in recorded}
        assert (len(sent) == len(recorded)) if moment == "before-broadcast" else (sent == [])
        with store.engine.connect() as connection:
            assert {r.key: r.tx_hash for r in connection.execute(select(evm_operations))} == {
                key: tx for key, (_, tx) in recorded.items()}  # the very transactions recorded
        # Each reference settled once; supply and balances as on the SQL ledger.
        settled = chain.settled_logs(contracts.values(), 0, chain.latest())
        assert len(settled) == len({s.payment_ref for s in settled}) == len(recorded)
        assert {c: chain.token_call(a, "totalSupply") for c, a in contracts.items() if c in expected_supply} == expected_supply
        assert {(w, c): chain.token_call(contracts[c], "balanceOf", address_of(w))
                for (w, c) in expected_balances} == expected_balances
        # The restarted worker gets the same messages again (redelivery): nothing new happens.
        pipeline = build_bus(settings, store)
        assert all(pipeline.handle(p.read_bytes()).seen_before for p in MESSAGES)
        assert settler.settle() == []
        store.engine.dispose()


def test_settle_wait_follows_up_acsp_with_acsc_without_a_worker(anvil, tmp_path) -> None:
    """Issue 18: replay answers ACSP on EVM; `settle --wait` runs the rounds a worker would and
    queues the ACSC follow-up in the outbox; `status` then shows ACSC."""
    env = evm_environment(anvil, tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "init"], env=env).exit_code == 0
    csv_path, _ = evm_accounts_csv(tmp_path / "accounts.csv")
    assert runner.invoke(cli, ["accounts", "import", str(csv_path)], env=env).exit_code == 0
    replayed = runner.invoke(cli, ["replay", str(MESSAGES[0])], env=env).output
    assert "ACSP" in replayed
    # Issue 20 (7): the summary says what is planned, not "minted".
    assert "pending on chain" in replayed and "minted" not in replayed
    uetr = "e9b0e81b-975e-4591-bb9f-15fccadfc99f"  # of samples/pacs008/01
    before = json.loads(runner.invoke(cli, ["status", "--json", uetr], env=env).stdout)
    assert before["messages"][0]["transactions"][0]["status"] == "ACSP"
    settled = runner.invoke(cli, ["settle", "--wait"], env=env)
    assert settled.exit_code == 0, settled.output
    assert "1 follow-up(s) queued in the outbox; 0 operation(s) in flight" in settled.output
    after = json.loads(runner.invoke(cli, ["status", "--json", uetr], env=env).stdout)
    (message,) = after["messages"]
    assert message["transactions"][0]["status"] == "ACSC"
    assert "1 notification(s) (camt.054) of what became final queued too" in settled.output
    # ACSP, then ACSC, then Alice's camt.054 (notified when final, not when submitted)
    assert [r["message_type"][:8] for r in message["replies"]] == ["pacs.002", "pacs.002", "camt.054"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        store = open_store(load_settings())
        with store() as uow:
            (follow_up,) = [m for m in uow.outbox.pending(limit=10) if b"<GrpSts>ACSC<" in m.body
                            or b"<TxSts>ACSC<" in m.body]
        store.engine.dispose()
    assert follow_up.message_type.startswith("pacs.002")
    again = runner.invoke(cli, ["settle"], env=env)
    assert again.exit_code == 0 and "0 follow-up(s)" in again.output  # nothing twice


def test_balances_and_settle_with_the_node_down_say_so_without_a_traceback(anvil, tmp_path) -> None:
    env = evm_environment(anvil, tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "init"], env=env).exit_code == 0
    down = {**env, "TOKENBRIDGE_EVM_URL": "http://127.0.0.1:9"}  # nothing listens on port 9
    for command in (["balances"], ["balances", "--json"], ["settle", "--wait"]):
        result = runner.invoke(cli, command, env=down)
        assert result.exit_code == 1, (command, result.output)
        assert "ledger evm unavailable: ConnectionError (the node does not answer)" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert env["TOKENBRIDGE_EVM_KEY"].removeprefix("0x") not in result.output


def test_settle_on_the_sql_ledger_says_there_is_nothing_to_settle(seeded_cli) -> None:
    result = seeded_cli("settle", "--wait")
    assert result.exit_code == 0 and "ledger sql: nothing to settle" in result.output
