"""The corporates' stories on the SQL store (SQLite and PostgreSQL): through `replay --out` and
through the worker on the real RabbitMQ, with exact balances and supply, one fiat leg per burn,
and replays that change nothing and send nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner
from lxml import etree

from adapters.cli import cli
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.iso.catalogue import default_schema_dir
from bridge.iso.reader import MessageReader

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
STORIES = sorted((SAMPLES / "corporates").glob("*.xml"))
CHANNELS = frozenset({"NORTHWIND-TRADING", "HELIX-GROUP-TREASURY"})
ISSUER = "TOKNDEFFXXX"
BALANCES = {  # minor units after the stories
    ("w-northwind-usd", "USD"): 19_995_000, ("w-lumen-usd", "USD"): 4_820_000,
    ("w-helix-treasury-eur", "EUR"): 75_000_000, ("w-helix-europe-eur", "EUR"): 25_000_000,
    ("w-helix-americas-usd", "USD"): 20_000_000, ("w-helix-treasury-usd", "USD"): 40_000_000,
    ("w-helix-treasury-sgd", "SGD"): 35_000_000, ("w-helix-asia-sgd", "SGD"): 13_750_000}
SUPPLY = {"EUR": 100_000_000, "USD": 84_815_000, "SGD": 48_750_000}


def state(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances() if b.balance},
                uow.ledger.supply())


def xsd_checked(body: bytes) -> str:
    """The message type of `body` after xmlschema (independent of libxml2) accepted it."""
    root = etree.fromstring(body)
    document = root if etree.QName(root).localname == "Document" else next(
        e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "Document")
    message_type = etree.QName(document).namespace.rsplit(":", 1)[-1]
    xmlschema.XMLSchema(str(default_schema_dir() / f"{message_type}.xsd")).validate(
        etree.tostring(document).decode())
    return message_type


def test_the_stories_end_with_exact_balances_and_replays_change_nothing(registry) -> None:
    bus = MessageBus(MessageReader(), registry, BridgeConfig(issuer_bic=ISSUER, corporate_senders=CHANNELS),
                     is_transient=registry.is_transient)
    outcomes = [bus.handle(path.read_bytes()) for path in STORIES]
    assert [o.verdict for o in outcomes] == ["accepted"] * 7 + ["rejected"]
    assert state(registry) == (BALANCES, SUPPLY)
    legs = [leg for o in outcomes for leg in o.emitted if not leg.message_type.startswith("camt.054")]
    assert [xsd_checked(leg.body) for leg in legs] == ["pacs.008.001.08"] * 2
    with registry() as uow:  # queued in the outbox with their burns, after the pain.002
        assert {leg.message_id for leg in legs} <= {m.message_id for m in uow.outbox.pending(limit=100)}
    again = [bus.handle(path.read_bytes()) for path in STORIES]
    assert all(o.seen_before and o.emitted == () for o in again)
    resent = [bus.handle(path.read_bytes().replace(b"2026-11-24T14:05:00Z", b"2026-11-24T14:06:00Z"))
              for path in STORIES if b"NWT-PAY-20261124-0001" in path.read_bytes()]
    assert [t.result for t in resent[0].transactions] == ["replayed", "replayed"]
    assert resent[0].emitted == () and state(registry) == (BALANCES, SUPPLY)


def test_replay_out_writes_the_pain002s_and_the_fiat_legs(tmp_path: Path, monkeypatch, store_url) -> None:
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", store_url)
    monkeypatch.setenv("TOKENBRIDGE_ISSUER_BIC", ISSUER)
    monkeypatch.setenv("TOKENBRIDGE_CORPORATE_SENDERS", ",".join(sorted(CHANNELS)))
    runner = CliRunner()
    for args in (["ledger", "init"], ["accounts", "import", str(SAMPLES / "accounts.csv")]):
        assert runner.invoke(cli, args).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(cli, ["replay", "--out", str(out), str(SAMPLES / "corporates")])
    assert result.exit_code == 1, result.output  # the refused debit
    written = sorted(p.name for p in out.glob("*.xml"))
    assert [n.split(".", 1)[1] for n in written if n.startswith(("05", "07")) and ".camt.054." not in n] == [
        "1.pain.002.001.10.xml", "2.pacs.008.001.08.xml", "1.pain.002.001.15.xml", "2.pacs.008.001.08.xml"]
    for name in written:
        read = MessageReader().read((out / name).read_bytes())
        assert read.valid, (name, read.findings)
        xsd_checked((out / name).read_bytes())
    leg = MessageReader().read((out / written[written.index(next(n for n in written if n.startswith(
        "07") and "pacs.008" in n))]).read_bytes()).payload
    assert str(leg.transactions[0].amount) == "12500.00 SGD"
    assert leg.transactions[0].creditor_agent.bic == "DBSSSGSGXXX"
    balances = json.loads(runner.invoke(cli, ["balances", "--json"]).output)
    assert balances["supply"] == {"EUR": "1000000.00", "SGD": "487500.00", "USD": "848150.00"}
    status = json.loads(runner.invoke(cli, ["status", "NWT-PAY-20261124-0001", "--json"]).output)
    [message] = status["messages"]
    assert [t["operation"]["kind"] for t in message["transactions"]] == ["transfer", "burn"]
    assert message["sender"] == "NORTHWIND-TRADING"


@pytest.mark.slow  # the real broker
def test_the_worker_publishes_the_pain002s_and_the_fiat_legs_on_out(registry, amqp_prefix) -> None:
    from broker import drain_routed_answers
    from test_worker import RunningWorker, publish
    pipeline = MessageBus(MessageReader(), registry, BridgeConfig(issuer_bic=ISSUER, corporate_senders=CHANNELS),
                          is_transient=registry.is_transient)
    with RunningWorker(registry, amqp_prefix, pipeline=pipeline):
        for path in STORIES[:4]:  # the funding first: the corporates pay from it
            publish(amqp_prefix, [path.read_bytes()])
            drain_routed_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=30)
        publish(amqp_prefix, [path.read_bytes() for path in STORIES[4:]])
        routed = drain_routed_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 6, timeout_s=60)
    keys = sorted(key for key, _, _ in routed)
    assert keys == ["pacs.008.001.08", "pacs.008.001.08", "pain.002.001.10", "pain.002.001.10",
                    "pain.002.001.12", "pain.002.001.15"]
    for key, properties, body in routed:
        assert properties.type == key == xsd_checked(body)
        assert properties.correlation_id
    assert state(registry) == (BALANCES, SUPPLY)
