"""Cancellations on the EVM ledger, on a real node (anvil) with automine off, through the bus and
the settlement round the worker runs: a planned operation is cancelled at once and never
broadcast; a submitted one is replaced by a no-op at its nonce and reported cancelled once that
is mined; when the original is mined first it is reported settled and the cancellation refused,
never "cancelled". Later operations in the nonce chain are not held up. SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import start_anvil
from eth_account import Account
from lxml import etree
from test_cancellations import resolution
from test_evm_replay import address_of, evm_accounts_csv, import_registry

from adapters.bootstrap import build_bus, settlement_round
from adapters.config import Settings
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.status_requests.lifecycle import lifecycle
from builders import CancelTx, StatusTx, Tx, camt056, pacs008, pacs028

pytestmark = pytest.mark.slow  # anvil

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"


@pytest.fixture(scope="module")
def anvil():
    node = start_anvil()  # its own: these tests turn automine off
    yield node
    node.stop()


class Chainside:
    """A store on a fresh issuer and token, its bus and settlement round, automine off."""

    def __init__(self, anvil, store_url: str, tmp_path: Path) -> None:
        anvil.rpc("evm_setAutomine", True)  # the token is deployed mined
        issuer = Account.create()
        anvil.fund(issuer.address)
        self.anvil = anvil
        self.settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR",
                                 database_url=store_url)
        self.plugin = EvmLedgerPlugin(self.settings, web3=anvil.web3)
        self.engine = create_store_engine(store_url)
        migrate(self.engine)
        self.store = SqlStore(self.engine, self.plugin)
        self.plugin.initialise(self.store)
        import_registry(self.store, evm_accounts_csv(tmp_path / "accounts.csv")[0])
        self.bus = build_bus(self.settings, self.store)
        self.round = settlement_round(self.store, self.bus)
        anvil.rpc("evm_setAutomine", False)

    def pay(self, msg_id: str, uetr: str, amount: str = "100.00"):
        outcome = self.bus.handle(pacs008([Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=ALICE,
                                              uetr=uetr, end_to_end_id=f"E2E-{msg_id}")],
                                          msg_id=msg_id).encode())
        assert [t.status for t in outcome.transactions] == ["ACSP"]
        return outcome

    def cancel(self, msg_id: str, assignment_id: str):
        return self.bus.handle(camt056([CancelTx(msg_id=msg_id, end_to_end_id=f"E2E-{msg_id}")],
                                       assignment_id=assignment_id).encode())

    def supply_on_chain(self) -> int:
        token = self.plugin.contracts(self.engine)["EUR"]
        return int(self.plugin.chain.token_call(token, "totalSupply"))

    def books(self) -> tuple[dict, dict]:
        """Every wallet's balance and the supply as the ledger reports them: supply == sum."""
        with self.store() as uow:
            balances = {b.wallet: b.balance for b in uow.ledger.balances() if b.balance}
            supply = uow.ledger.supply()
        assert supply.get("EUR", 0) == sum(balances.values())
        assert all(v >= 0 for v in balances.values())
        return balances, supply

    def state(self, key: str) -> str:
        from sqlalchemy import select

        from adapters.evm.tables import evm_operations
        with self.engine.connect() as connection:
            return connection.execute(select(evm_operations.c.state).where(
                evm_operations.c.key == key)).scalar_one()


def said(message) -> tuple:
    """A pacs.002's (type, TxSts, reason), a camt.029's (type, Conf, TxCxlSts) or a camt.054's
    (type, CdtDbtInd, amount) of its entry."""
    root = etree.fromstring(message.body)
    if message.message_type.startswith("camt.054"):
        return ("camt.054", root.findtext(".//{*}Ntry/{*}CdtDbtInd"), root.findtext(".//{*}Ntry/{*}Amt"))
    if message.message_type.startswith("camt.029"):
        found = resolution(message.body)
        return ("camt.029", found["confirmation"], found["transactions"][0][3])
    return ("pacs.002", root.findtext(".//{*}TxSts"), root.findtext(".//{*}StsRsnInf/{*}Rsn/{*}Cd"))


@pytest.fixture(params=["sqlite", "postgres"])
def chainside(request, anvil, tmp_path):
    url = (f"sqlite:///{tmp_path / 'evm.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    side = Chainside(anvil, url, tmp_path)
    yield side
    anvil.rpc("evm_setAutomine", True)
    side.engine.dispose()


UETR_1, UETR_2, UETR_3 = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                          "33333333-3333-4333-8333-333333333333")


def test_a_planned_payment_is_cancelled_at_once_and_never_broadcast(chainside) -> None:
    chainside.pay("PAY-1", UETR_1)
    outcome = chainside.cancel("PAY-1", "CXL-1")
    assert said(outcome.reply) == ("camt.029", "CNCL", "ACCR")
    assert [said(m) for m in outcome.emitted] == [("pacs.002", "RJCT", "DS02")]
    assert chainside.state(f"uetr:{UETR_1}") == "cancelled"
    assert chainside.round() == [] and chainside.books() == ({}, {})  # nothing to submit
    chainside.anvil.mine()
    assert chainside.round() == [] and chainside.supply_on_chain() == 0

    again = chainside.cancel("PAY-1", "CXL-2")  # asked again: the same answer, no second follow-up
    assert said(again.reply) == ("camt.029", "CNCL", "ACCR") and again.emitted == ()
    replayed = chainside.bus.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE,
                                                uetr=UETR_1, end_to_end_id="E2E-PAY-1")],
                                            msg_id="PAY-1b").encode())
    assert [(t.status, t.reason) for t in replayed.transactions] == [("RJCT", "DS02")]  # never revived
    assert chainside.supply_on_chain() == 0
    asked = chainside.bus.handle(pacs028([StatusTx(uetr=UETR_1)], msg_id="STS-1").encode())
    assert said(asked.reply) == ("pacs.002", "RJCT", "DS02")  # its status: cancelled
    with chainside.store() as uow:
        (shown,) = lifecycle(UETR_1, uow, chainside.bus.config.reader())
    assert (shown.transactions[0].current.status, shown.transactions[0].current.reason) == ("RJCT", "DS02")


def test_a_submitted_payment_is_replaced_by_a_noop_and_later_ones_still_settle(chainside) -> None:
    chainside.pay("PAY-2", UETR_2)
    assert chainside.round() == []  # submitted, in the pool (automine off)
    assert chainside.state(f"uetr:{UETR_2}") == "submitted"
    chainside.pay("PAY-3", UETR_3, amount="7.00")
    chainside.round()  # the next nonce, behind it
    outcome = chainside.cancel("PAY-2", "CXL-3")
    assert said(outcome.reply) == ("camt.029", "PDCR", "PDCR") and outcome.emitted == ()
    assert said(chainside.cancel("PAY-2", "CXL-4").reply) == ("camt.029", "PDCR", "PDCR")  # once
    assert chainside.round() == []  # the no-op is broadcast at its nonce
    chainside.anvil.mine()
    sent = chainside.round()
    by_type = sorted(said(m) for m in sent)
    # the payment behind it settled and notified; the cancelled one never notified
    assert by_type == [("camt.029", "CNCL", "ACCR"), ("camt.054", "CRDT", "7.00"), ("pacs.002", "ACSC", None),
                       ("pacs.002", "RJCT", "DS02")]
    assert chainside.state(f"uetr:{UETR_2}") == "cancelled"
    assert chainside.state(f"uetr:{UETR_3}") == "confirmed"  # not wedged by the cancelled nonce
    assert chainside.supply_on_chain() == 700
    assert chainside.books() == ({address_of("w-alice"): 700}, {"EUR": 700})
    chainside.anvil.mine()
    assert chainside.round() == []  # decided once


def test_the_original_mined_first_is_settled_and_the_cancellation_refused(chainside) -> None:
    chainside.pay("PAY-4", UETR_1.replace("1111", "4444", 1))
    chainside.round()
    chainside.anvil.mine()  # mined before the bridge has read it
    outcome = chainside.cancel("PAY-4", "CXL-5")
    assert said(outcome.reply) == ("camt.029", "PDCR", "PDCR")
    sent = chainside.round()
    assert sorted(said(m) for m in sent) == [("camt.029", "RJCR", "RJCR"), ("camt.054", "CRDT", "100.00"),
                                             ("pacs.002", "ACSC", None)]
    assert chainside.state(f"uetr:{UETR_1.replace('1111', '4444', 1)}") == "confirmed"
    assert chainside.supply_on_chain() == 10000
    again = chainside.cancel("PAY-4", "CXL-6")  # now final: refused at once
    assert said(again.reply) == ("camt.029", "RJCR", "RJCR")
