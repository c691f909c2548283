"""camt.054 notifications on the EVM ledger (a real anvil node): an operation is notified when
the chain has made it final (the settlement round that reports ACSC), never when it is only
submitted (ACSP); a settlement that fails (RJCT) notifies nothing."""
from __future__ import annotations

import pytest
from conftest import start_anvil
from eth_account import Account
from notification_support import notifications, read_notification
from sqlalchemy import update
from test_evm_worker import ALICE, BRUNO, FATIMA, OMNIBUS, address_of

from adapters.bootstrap import build_bus, settlement_round
from adapters.config import Settings
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.evm.tables import evm_available
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from bridge.iso.reader import MessageReader
from builders import Tx, pacs008

pytestmark = pytest.mark.slow  # anvil


@pytest.fixture(scope="module")
def anvil():
    node = start_anvil()
    yield node
    node.stop()


def evm_bridge(node, url: str, **settings):
    """A store on the EVM ledger (fresh tokens on `node`), its bus and settlement round."""
    issuer = Account.create()
    node.fund(issuer.address)
    current = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR", **settings)
    plugin = EvmLedgerPlugin(current, web3=node.web3)
    engine = create_store_engine(url)
    migrate(engine)
    store = SqlStore(engine, plugin)
    plugin.initialise(store)
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount(OMNIBUS, "EUR", None, "active", "omnibus"),
                             RegisteredAccount(ALICE, "EUR", address_of("alice")),
                             RegisteredAccount(BRUNO, "EUR", address_of("bruno"))])
        uow.commit()
    bus = build_bus(current, store)
    return store, bus, settlement_round(store, bus)


def settled(settle, rounds: int = 20) -> list:
    """What the settlement rounds sent until one sent something (anvil mines at once)."""
    for _ in range(rounds):
        sent = settle()
        if sent:
            return sent
    return []


def test_notified_when_final_not_when_submitted_and_never_when_it_fails(anvil, sqlite_url) -> None:
    store, bus, settle = evm_bridge(anvil, sqlite_url)
    minted = bus.handle(pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)],
                                msg_id="MSG-EVM-MINT").encode())
    assert [t.status for t in minted.transactions] == ["ACSP"] and minted.emitted == ()
    sent = settled(settle)
    assert [m.message_type for m in sent] == ["pacs.002.001.10", "camt.054.001.08"]
    (notice,) = notifications(sent)
    assert MessageReader().read(notice.body).valid and notice.correlation_id == "MSG-EVM-MINT"
    assert [(e.account, e.side, e.amount) for e in read_notification(notice)] == [(ALICE, "CRDT", "10.00")]
    with store() as uow:  # in the outbox, committed with the settlement round
        assert notice.message_id in {m.message_id for m in uow.outbox.pending(limit=100)}

    # A store that believes Alice can spend more than the chain holds: the chain refuses it.
    with store.engine.begin() as connection:
        connection.execute(update(evm_available).where(
            evm_available.c.wallet == address_of("alice")).values(available=1_000_000))
    refused = bus.handle(pacs008([Tx(amount="50.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode())
    assert [t.status for t in refused.transactions] == ["ACSP"] and refused.emitted == ()
    sent = settled(settle)
    assert [m.message_type for m in sent] == ["pacs.002.001.10"] and b"AM04" in sent[0].body

    transfer = bus.handle(pacs008([Tx(amount="4.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode())
    assert transfer.emitted == ()
    sent = settled(settle)
    assert [[(e.account, e.side, e.amount) for e in read_notification(m)] for m in notifications(sent)] == [
        [(ALICE, "DBIT", "4.00")], [(BRUNO, "CRDT", "4.00")]]
    store.engine.dispose()


def test_off_by_configuration_the_settlement_round_sends_follow_ups_only(anvil, sqlite_url) -> None:
    store, bus, settle = evm_bridge(anvil, sqlite_url, notifications="off")
    bus.handle(pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    assert [m.message_type for m in settled(settle)] == ["pacs.002.001.10"]
    store.engine.dispose()
