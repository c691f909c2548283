"""The worker on the EVM ledger: each pacs.008 answered ACSP at once, then a follow-up pacs.002
(ACSC, or RJCT with its reason) once the chain has decided; through the real RabbitMQ, on an
in-process chain (eth-tester). The report-building itself is tested without a broker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict

import pytest
from click.testing import CliRunner
from conftest import start_anvil

from eth_account import Account
from eth_utils import keccak, to_checksum_address
from lxml import etree
from sqlalchemy import update
from web3 import Web3

from adapters.bootstrap import build_bus, settlement_round
from adapters.cli import cli
from adapters.config import Settings
from adapters.evm.artifact import deposit_token
from adapters.evm.devchain import TesterChain
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.evm.tables import evm_available
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from bridge.iso.catalogue import SchemaCatalogue
from bridge.operations import PaymentRefs, TokenOperation
from bridge.settlement.changes import SettlementChange
from bridge.settlement.follow_ups import SettlementFollowUps
from broker import drain_answers, wait_consuming
from builders import Tx, app_header, pacs008, swift_envelope
from test_worker import RunningWorker, publish

pytestmark = pytest.mark.slow  # anvil, worker processes, the real broker

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
OMNIBUS, FATIMA = "DE56500199000990000018", "FR7630004008280001058392658"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"}
PACS002 = SchemaCatalogue().schema(NS["p"])


def address_of(name: str) -> str:
    return to_checksum_address(keccak(text=f"tokenbridge-test:{name}")[-20:])


class EvmBridge:
    """A SQLite store on the EVM ledger (fresh tokens on an eth-tester chain), its registry,
    and the pipeline and settlement round the `worker` command wires."""

    def __init__(self, url: str) -> None:
        self.chain = TesterChain()
        issuer = Account.create()
        self.chain.fund(issuer.address)
        self.settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR")
        self.plugin = EvmLedgerPlugin(self.settings, web3=self.chain.web3)
        self.engine = create_store_engine(url)
        migrate(self.engine)
        self.store = SqlStore(self.engine, self.plugin)
        self.plugin.initialise(self.store)
        with self.store() as uow:
            uow.accounts.upsert([
                RegisteredAccount(OMNIBUS, "EUR", None, "active", "omnibus"),
                RegisteredAccount(ALICE, "EUR", address_of("alice"), "active", "wallet"),
                RegisteredAccount(BRUNO, "EUR", address_of("bruno"), "active", "wallet")])
            uow.commit()
        self.pipeline = build_bus(self.settings, self.store)
        self.settle = settlement_round(self.store, self.pipeline)

    def on_chain(self, function: str, *args) -> int:
        token = self.plugin.contracts(self.engine)["EUR"]
        return int(self.plugin.chain.token_call(token, function, *args))


def running_worker(bridge: EvmBridge, prefix: str) -> RunningWorker:
    return RunningWorker(bridge.store, prefix, pipeline=bridge.pipeline, settle=bridge.settle,
                         batch_size=10, settle_interval_s=0.1)


def statuses(body: bytes) -> tuple[str, str | None, list[tuple[str, str, str | None]]]:
    """OrgnlMsgId, GrpSts, and (OrgnlEndToEndId, TxSts, reason) per transaction of a reply."""
    root = etree.fromstring(body)
    document = root if root.tag.endswith("Document") else root.find("{*}Document")
    assert PACS002.validate(etree.ElementTree(document)), body
    original = document.findtext(".//p:OrgnlMsgId", namespaces=NS)
    group = document.findtext(".//p:GrpSts", namespaces=NS)
    txs = [(tx.findtext("p:OrgnlEndToEndId", namespaces=NS), tx.findtext("p:TxSts", namespaces=NS),
            tx.findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=NS))
           for tx in document.iterfind(".//p:TxInfAndSts", namespaces=NS)]
    return original, group, txs


def test_the_worker_answers_acsp_then_acsc_once_the_chain_has_settled(sqlite_url, amqp_prefix) -> None:
    bridge = EvmBridge(sqlite_url)
    mints = [Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ALICE, end_to_end_id=f"E2E-MINT-{i}")
             for i in range(12)]
    bodies = [pacs008([tx], msg_id=f"MSG-MINT-{i}") for i, tx in enumerate(mints)]
    two = [Tx(amount="1.50", debtor_iban=FATIMA, creditor_iban=BRUNO, end_to_end_id="E2E-TWO-A"),
           Tx(amount="2.50", debtor_iban=FATIMA, creditor_iban=BRUNO, end_to_end_id="E2E-TWO-B")]
    bodies.append(swift_envelope(pacs008(two, msg_id="MSG-TWO"), app_header(biz_msg_id="BIZ-TWO")))
    with running_worker(bridge, amqp_prefix):
        publish(amqp_prefix, [b.encode() for b in bodies])
        # 13 first answers (ACSP) and 13 follow-ups (ACSC), one per original message.
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 2 * len(bodies), timeout_s=60)
    by_original: dict[str, list] = defaultdict(list)
    for properties, body in replies:
        original, group, txs = statuses(body)
        by_original[original].append((group, txs, properties))
    assert len(by_original) == len(bodies)
    for original, answers in by_original.items():
        assert [group for group, _, _ in answers] == ["ACSP", "ACSC"], original  # never backwards
        first, follow_up = answers[0][1], answers[1][1]
        assert sorted(e2e for e2e, _, _ in follow_up) == sorted(e2e for e2e, _, _ in first)
        assert {status for _, status, _ in follow_up} == {"ACSC"}
    # The follow-up to the enveloped message has its own AppHdr, related to the original.
    assert {p.correlation_id for _, _, p in by_original["MSG-TWO"]} == {"BIZ-TWO"}
    assert b"BIZ-TWO" in next(p for p in replies if b"MSG-TWO" in p[1] and b"ACSC" in p[1])[1]
    assert len({p.message_id for p, _ in replies}) == len(replies)
    assert bridge.on_chain("totalSupply") == 12 * 500 + 400
    assert bridge.on_chain("balanceOf", address_of("alice")) == 6000
    with bridge.store() as uow:  # nothing left for the sweep: every follow-up was confirmed
        assert uow.outbox.backlog() == 0


def test_a_transfer_the_chain_refuses_is_followed_by_rjct_with_its_reason(sqlite_url, amqp_prefix) -> None:
    bridge = EvmBridge(sqlite_url)
    with running_worker(bridge, amqp_prefix):
        publish(amqp_prefix, [pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)],
                                      msg_id="MSG-FUND").encode()])
        drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 2, timeout_s=60)
        # A store that believes Alice can spend more than the chain holds (diverged).
        with bridge.engine.begin() as connection:
            connection.execute(update(evm_available).where(
                evm_available.c.wallet == address_of("alice")).values(available=1_000_000))
        publish(amqp_prefix, [pacs008([Tx(amount="50.00", debtor_iban=ALICE, creditor_iban=BRUNO,
                                          end_to_end_id="E2E-TOO-MUCH")], msg_id="MSG-TOO-MUCH").encode()])
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 2, timeout_s=60)
    answers = [statuses(body) for _, body in replies]
    assert [(o, g) for o, g, _ in answers] == [("MSG-TOO-MUCH", "ACSP"), ("MSG-TOO-MUCH", "RJCT")]
    assert answers[1][2] == [("E2E-TOO-MUCH", "RJCT", "AM04")]
    assert bridge.on_chain("balanceOf", address_of("bruno")) == 0


# -- the follow-up report, without a broker ----------------------------------------------------

def change(operation: TokenOperation, status: str, reason: str | None = None) -> SettlementChange:
    return SettlementChange(operation.key, operation, "ACSP", status, reason,
                            "reverted: InsufficientBalance" if reason else None)


def stranger(message_id: str, e2e: str) -> TokenOperation:
    return TokenOperation(key=f"k-{e2e}", kind="mint", currency="EUR", amount=100,
                          debit_wallet=None, credit_wallet=address_of("alice"),
                          refs=PaymentRefs(message_id=message_id, end_to_end_id=e2e))


def test_a_follow_up_speaks_for_the_group_only_when_it_covers_every_transaction(sqlite_url) -> None:
    bridge = EvmBridge(sqlite_url)
    txs = [Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE, end_to_end_id=f"E2E-G-{i}",
              tx_id=None) for i in range(3)]
    outcome = bridge.pipeline.handle(pacs008(txs, msg_id="MSG-GROUP").encode())
    assert outcome.reply is not None and b"ACSP" in outcome.reply.body
    ops = [t.operation for t in outcome.transactions]
    follow_ups = SettlementFollowUps(bridge.pipeline.reader, bridge.pipeline.config, bridge.pipeline.clock)
    with bridge.store() as uow:
        some = follow_ups.report([change(ops[0], "ACSC")], uow.inbox, uow.outbox)
        every = follow_ups.report(
            [change(ops[1], "ACSC"), change(ops[2], "RJCT", "AM04"), change(ops[0], "ACSC")],
            uow.inbox, uow.outbox)
        # A statement-minted payment, or a transaction the message never carried: no answer.
        none = follow_ups.report(
            [change(stranger("CAMT-STMT-1", "E2E-X"), "ACSC"),
             change(stranger("MSG-GROUP", "E2E-NOT-THERE"), "ACSC")], uow.inbox, uow.outbox)
        uow.commit()
    assert none == []
    assert statuses(some[0].body) == ("MSG-GROUP", None, [("E2E-G-0", "ACSC", None)])
    original, group, reported = statuses(every[0].body)
    assert (original, group) == ("MSG-GROUP", "PART")
    assert sorted(reported) == [("E2E-G-0", "ACSC", None), ("E2E-G-1", "ACSC", None),
                                ("E2E-G-2", "RJCT", "AM04")]
    with bridge.store() as uow:
        assert {m.message_id for m in uow.outbox.pending(limit=10)} >= {some[0].message_id,
                                                                         every[0].message_id}


def test_a_2026_payment_is_answered_and_followed_up_in_pacs_002_001_16(sqlite_url) -> None:
    """The follow-up of a settled pacs.008.001.14 speaks the version of the first answer."""
    from bridge.iso.reader import MessageReader
    bridge = EvmBridge(sqlite_url)
    outcome = bridge.pipeline.handle(pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE,
                                                 end_to_end_id="E2E-V14")], version="14",
                                             msg_id="MSG-V14").encode())
    follow_ups = SettlementFollowUps(bridge.pipeline.reader, bridge.pipeline.config, bridge.pipeline.clock)
    with bridge.store() as uow:
        (follow_up,) = follow_ups.report([change(outcome.transactions[0].operation, "ACSC")],
                                         uow.inbox, uow.outbox)
        uow.commit()
    for reply, status in ((outcome.reply, b"ACSP"), (follow_up, b"ACSC")):
        read = MessageReader().read(reply.body)
        assert (reply.message_type, read.message_type, read.valid) == ("pacs.002.001.16",) * 2 + (True,)
        assert b"<TxSts>" + status + b"</TxSts>" in reply.body and b"MSG-V14" in reply.body


# -- the `worker` command on a real node, killed mid-stream --------------------------------------

@pytest.fixture(scope="module")
def anvil():
    node = start_anvil()
    yield node
    node.stop()


def test_the_worker_command_killed_mid_settlement_answers_every_payment_once(
        anvil, tmp_path, amqp_prefix) -> None:
    issuer = Account.create()
    anvil.fund(issuer.address)
    env = {"TOKENBRIDGE_LEDGER": "evm", "TOKENBRIDGE_EVM_URL": anvil.url,
           "TOKENBRIDGE_EVM_KEY": issuer.key.hex(), "TOKENBRIDGE_EVM_CURRENCIES": "EUR",
           "TOKENBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
           "TOKENBRIDGE_AMQP_PREFIX": amqp_prefix, "TOKENBRIDGE_BATCH_SIZE": "20"}
    registry = tmp_path / "accounts.csv"
    registry.write_text("account,currency,wallet,status,kind\n"
                        f"{OMNIBUS},EUR,,active,omnibus\n{ALICE},EUR,{address_of('alice')},active,wallet\n")
    runner = CliRunner()
    for command in (["ledger", "init"], ["accounts", "import", str(registry)]):
        done = runner.invoke(cli, command, env=env)
        assert done.exit_code == 0, done.output
    count = 300
    bodies = [pacs008([Tx(amount=f"{1 + i % 7}.00", debtor_iban=FATIMA, creditor_iban=ALICE)],
                      msg_id=f"KILL-{i}").encode() for i in range(count)]
    expected_supply = sum((1 + i % 7) * 100 for i in range(count))
    publish(amqp_prefix, bodies)

    child_env = {**os.environ, **env}
    command = [sys.executable, "-c", "from adapters.cli import main; main()", "worker"]
    log = (tmp_path / "worker.log").open("ab")
    replies: list = []
    worker = subprocess.Popen(command, env=child_env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        # Killed once some payments have their follow-up and others are still in flight.
        replies += drain_answers(f"{amqp_prefix}.out", lambda got: sum(b"ACSC" in b for _, b in got) >= 40,
                         timeout_s=120)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        worker = subprocess.Popen(command, env=child_env, stdout=subprocess.DEVNULL, stderr=log)

        def settled(got: list) -> bool:
            return len({statuses(b)[0] for _, b in replies + got if b"ACSC" in b}) >= count
        replies += drain_answers(f"{amqp_prefix}.out", settled, timeout_s=180)
        wait_consuming(amqp_prefix)  # the first worker may have settled all before its kill
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        log.close()

    follow_ups: dict[str, set[str]] = defaultdict(set)
    first: dict[str, set[str]] = defaultdict(set)
    for properties, body in replies:
        original, group, txs = statuses(body)
        (follow_ups if group == "ACSC" else first)[original].add(properties.message_id)
        assert group in ("ACSP", "ACSC"), body
    assert len(follow_ups) == count
    # One follow-up per payment (re-published after the kill at most, with the same message_id).
    assert all(len(ids) == 1 for ids in follow_ups.values())
    assert all(len(first[o]) == 1 for o in first)
    token = json.loads(runner.invoke(cli, ["ledger", "info", "--json"], env=env).output)["contracts"]["EUR"]
    chain = Web3(Web3.HTTPProvider(anvil.url))
    total = chain.eth.contract(address=token, abi=deposit_token().abi).functions.totalSupply().call()
    assert total == expected_supply  # nothing minted twice
