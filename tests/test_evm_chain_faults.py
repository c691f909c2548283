"""The EVM rail under chain faults (issue 20), each class made deterministic on anvil: reorgs
(`anvil_reorg`, `evm_snapshot`/`evm_revert`), a foreign sender with the issuer's key, a node
with a fresh chain. Each test has its own node, keeping history (reorgs need older states)."""
from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from broker import drain, queue_depth, wait_for
from builders import Tx, pacs008
from conftest import start_anvil
from eth_account import Account
from ledger_contract import ManualClock, transfer
from test_evm_ledger import Bridge, address_of, evm_mint
from test_evm_worker import ALICE, FATIMA, OMNIBUS, statuses
from test_worker import RunningWorker, publish

from adapters.bootstrap import build_bus, settlement_round
from adapters.config import Settings
from adapters.evm.chain import connect
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.evm.settlement.guard import ChainLost
from adapters.rabbitmq.topology import Names
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from adapters.evm.tables import evm_available
from bridge.operations import BURN

pytestmark = pytest.mark.slow  # anvil nodes

ALICE_A, BRUNO_A = address_of("alice"), address_of("bruno")


@pytest.fixture()
def node():
    node = start_anvil(prune_history=False)
    yield node
    node.stop()


def clock_for(node) -> ManualClock:
    return ManualClock(datetime.fromtimestamp(node.latest_timestamp() + 3600, UTC), timedelta(minutes=1))


def new_bridge(node, url: str, **options) -> Bridge:
    bridge = Bridge(node, url, clock_for(node), currencies="EUR", **options)
    node.mine(3)  # room below: the reorgs here never reach the tokens' deployment
    return bridge


def raw(row) -> str:
    return "0x" + bytes(row.raw_tx).hex()


def foreign(bridge: Bridge, nonce: int, kind: str | None = None, wallet: str | None = None,
            amount: int = 0, ref: str = "0x" + "ab" * 32) -> str:
    """A transaction signed with the issuer's key by another sender: a 0-value filler, or a
    token call; as raw hex."""
    chain = bridge.plugin.chain
    fees = {k: 4 * v for k, v in chain.fees().items()}  # outbids ours in the pool
    if kind is None:
        return "0x" + chain.sign_filler(nonce, fees).raw.hex()
    data = chain.call_data(kind, wallet if kind == BURN else None, None if kind == BURN else wallet,
                           amount, ref)
    return "0x" + chain.sign(bridge.token("EUR"), data, nonce, 200_000, fees).raw.hex()


def test_1_a_reorg_that_carries_a_pending_mint_into_a_scanned_block_is_confirmed(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url)
    op = evm_mint(700, ALICE_A)
    bridge.apply(op)
    node.rpc("evm_setAutomine", False)
    assert bridge.settler.settle() == []  # broadcast, pending: the scan passes the head block
    row = bridge.row(op.key)
    node.rpc("anvil_reorg", 1, [[raw(row), 0]])  # the new head block holds the mint
    node.mine(2)
    node.rpc("evm_setAutomine", True)
    restarted = Bridge(node, sqlite_url, bridge.clock, key=bridge.key, engine=bridge.engine)
    changes = restarted.settle()
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    assert restarted.on_chain("EUR", "totalSupply") == 700


def test_1_a_reorg_that_moves_a_mined_unconfirmed_mint_one_block_earlier_is_confirmed_there(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url, confirmations=3)
    op = evm_mint(800, ALICE_A)
    bridge.apply(op)
    node.rpc("evm_setAutomine", False)
    node.mine()
    bridge.settler.settle()
    node.mine()  # mined in block B
    assert bridge.settler.settle() == []
    mined = bridge.row(op.key)
    assert mined.block_number is not None
    node.rpc("anvil_reorg", 2, [[raw(mined), 0]])  # now in block B-1
    node.rpc("evm_setAutomine", True)
    changes = bridge.settle()
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    assert bridge.row(op.key).block_number == mined.block_number - 1
    assert bridge.on_chain("EUR", "totalSupply") == 800


def test_2_a_reorg_deeper_than_the_confirmations_is_alerted_re_applied_and_never_wedges(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url)
    bridge.apply(evm_mint(100, BRUNO_A))
    bridge.settle()
    snapshot = node.rpc("evm_snapshot")
    with bridge.engine.begin() as connection:  # a transfer that reverts: RJCT, its nonce used
        connection.execute(evm_available.insert().values(wallet=ALICE_A, currency="EUR", available=50))
    refused = transfer(50, ALICE_A, BRUNO_A)
    mint = evm_mint(500, ALICE_A)
    bridge.apply(refused)
    bridge.settle()
    bridge.apply(mint)
    assert {(c.key, c.new_status) for c in bridge.settle()} == {(mint.key, "ACSC")}
    assert bridge.status(refused.key) == "RJCT"
    node.rpc("evm_revert", snapshot)  # both blocks gone: the ACSC'd mint is no longer on chain
    node.mine(3)
    later = evm_mint(30, BRUNO_A)
    bridge.apply(later)
    changes = bridge.settle()
    assert [(c.key, c.new_status) for c in changes] == [(later.key, "ACSC")]
    assert bridge.settler.take_alerts() == {"confirmed_lost": 1}
    bridge.settle()
    assert bridge.row(mint.key).lost_at is None  # re-applied, found on chain again
    assert bridge.on_chain("EUR", "totalSupply") == 630
    assert bridge.on_chain("EUR", "balanceOf", ALICE_A) == 500
    assert bridge.settler.pending() == 0


def test_3_a_node_with_a_fresh_chain_is_refused_and_alerted_nothing_is_signed(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url)
    bridge.apply(evm_mint(100, ALICE_A))
    bridge.settle()
    fresh = start_anvil(prune_history=False)  # same chain id, no state
    try:
        lost = Bridge(fresh, sqlite_url, bridge.clock, key=bridge.key, engine=bridge.engine)
        op = evm_mint(200, ALICE_A)
        assert lost.apply(op)[0].status == "ACSP"  # answered; settled once the chain is back
        with pytest.raises(ChainLost, match="not on the node's chain"):
            lost.settler.settle()
        assert lost.settler.take_alerts() == {"chain_lost": 1}
        assert lost.row(op.key).state == "planned"
        assert lost.plugin.chain.nonce_at("pending") == 0  # nothing was sent
        with pytest.raises(ChainLost):
            lost.plugin.initialise(lost.store())
        with pytest.raises(ChainLost):
            with lost.store()() as uow:
                uow.ledger.supply()
    finally:
        fresh.stop()
    back = Bridge(node, sqlite_url, bridge.clock, key=bridge.key, engine=bridge.engine)
    assert [(c.key, c.new_status) for c in back.settle()] == [(op.key, "ACSC")]


def test_4_a_transfer_overtaking_its_funding_mint_is_replanned_after_it_not_rejected(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url)
    mint = evm_mint(400, ALICE_A)
    pay = transfer(400, ALICE_A, BRUNO_A)
    bridge.apply(mint, pay)  # the transfer counts on the mint: both ACSP
    node.rpc("evm_setAutomine", False)
    bridge.settler.submit()
    nonce = bridge.row(mint.key).nonce
    assert bridge.row(pay.key).nonce == nonce + 1
    node.web3.eth.send_raw_transaction(foreign(bridge, nonce))  # takes the mint's nonce
    node.mine()  # the filler, then the transfer: reverted (alice holds nothing)
    node.rpc("evm_setAutomine", True)
    changes = bridge.settle()
    assert sorted((c.key, c.new_status) for c in changes) == sorted([(mint.key, "ACSC"), (pay.key, "ACSC")])
    assert bridge.row(pay.key).nonce > bridge.row(mint.key).nonce
    assert bridge.on_chain("EUR", "balanceOf", BRUNO_A) == 400


def test_5_a_revert_waits_for_the_confirmations_and_a_reorg_that_runs_it_is_what_is_reported(node, sqlite_url) -> None:
    bridge = new_bridge(node, sqlite_url, confirmations=3)
    bridge.apply(evm_mint(500, ALICE_A))
    bridge.settle()
    chain = bridge.plugin.chain
    nonce = chain.nonce_at("pending")
    # Another sender with the issuer's key burns alice's tokens: the bridge's transfer reverts.
    node.web3.eth.send_raw_transaction(foreign(bridge, nonce, BURN, ALICE_A, 500))
    pay = transfer(500, ALICE_A, BRUNO_A)
    bridge.apply(pay)
    assert bridge.settler.settle() == []
    row = bridge.row(pay.key)
    assert row.nonce == nonce + 1 and chain.receipt(row.tx_hash)["status"] == 0
    assert bridge.settler.settle() == [] and bridge.status(pay.key) == "ACSP"  # one block deep of 3
    # A reorg replaces both blocks: the burn never happened, the transfer runs.
    node.rpc("anvil_reorg", 2, [[foreign(bridge, nonce), 0], [raw(row), 1]])
    changes = bridge.settle()
    assert [(c.key, c.new_status) for c in changes] == [(pay.key, "ACSC")]
    assert bridge.on_chain("EUR", "balanceOf", BRUNO_A) == 500


def test_6_a_hung_node_only_fails_settlement_rounds_payments_are_answered_never_dead_lettered(
        node, sqlite_url, amqp_prefix) -> None:
    issuer = Account.create()
    node.fund(issuer.address)
    settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR")
    plugin = EvmLedgerPlugin(settings, web3=connect(node.url, timeout_s=1))
    engine = create_store_engine(sqlite_url)
    migrate(engine)
    store = SqlStore(engine, plugin)
    plugin.initialise(store)
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount(OMNIBUS, "EUR", None, "active", "omnibus"),
                             RegisteredAccount(ALICE, "EUR", ALICE_A, "active", "wallet")])
        uow.commit()
    pipeline = build_bus(settings, store)
    running = RunningWorker(store, amqp_prefix, pipeline=pipeline, settle=settlement_round(store, pipeline),
                            batch_size=5, settle_interval_s=0.1)
    count = 20
    bodies = [pacs008([Tx(amount="2.00", debtor_iban=FATIMA, creditor_iban=ALICE)],
                      msg_id=f"HUNG-{i}").encode() for i in range(count)]
    os.kill(node.pid, signal.SIGSTOP)  # the node hangs: calls time out
    try:
        with running:
            publish(amqp_prefix, bodies)
            replies = drain(f"{amqp_prefix}.out", lambda got: len(got) >= count, timeout_s=60)
            assert [statuses(body)[1] for _, body in replies] == ["ACSP"] * count
            # The replies come before a round has timed out against the hung node.
            wait_for(lambda: running.worker.metrics.settlement_failures._value.get() >= 1,
                     "no settlement round failed against the hung node")
            os.kill(node.pid, signal.SIGCONT)
            replies += drain(f"{amqp_prefix}.out",
                             lambda got: sum(b"ACSC" in body for _, body in got) >= count, timeout_s=60)
    finally:
        os.kill(node.pid, signal.SIGCONT)
    assert sorted(statuses(body)[1] for _, body in replies) == ["ACSC"] * count + ["ACSP"] * count
    assert queue_depth(Names(amqp_prefix).dead) == 0
    assert int(plugin.chain.token_call(plugin.contracts(engine)["EUR"], "totalSupply")) == count * 200
