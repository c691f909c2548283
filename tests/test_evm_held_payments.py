"""Held payments on the EVM ledger, on anvil, through the bus, the holds' scheduler and the
settlement rounds (SQLite and PostgreSQL stores): a value-dated transfer held on chain and
settled at its date (ACSC follow-up from the settlement), a conditional one released by its
fulfilment, one voided at its expiry (RJCT AB03), a held one cancelled by camt.056. After each,
the contract's balances and holds equal the bridge's books. Dates move by an injected clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import CancelTx, Tx, camt056, condition, pacs008
from conftest import start_anvil
from eth_account import Account
from test_evm_replay import address_of, evm_accounts_csv, import_registry
from test_holds import ALICE_IBAN, BRUNO_IBAN, LOCK, OUTSIDE, SECRET, Clock
from test_status_requests import answer

from adapters.bootstrap import build_bus, settlement_round
from adapters.config import Settings
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.holds import service
from bridge.holds.schedule import HoldSchedule
from bridge.holds.terms import HoldState
from bridge.settlement.follow_ups import SettlementFollowUps

pytestmark = pytest.mark.slow  # anvil

ALICE, BRUNO = address_of("w-alice"), address_of("w-bruno")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def node():
    anvil = start_anvil()
    yield anvil
    anvil.stop()


class Bank:
    """A store on the EVM ledger, the bus, the settlement round and the holds' scheduler, on
    one clock (a worker, as wired)."""

    def __init__(self, node, url: str, tmp_path, clock: Clock) -> None:
        issuer = Account.create()
        node.fund(issuer.address)
        self.clock = clock
        settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR",
                            timezone="Europe/Berlin")
        self.plugin = EvmLedgerPlugin(settings, web3=node.web3, clock=clock)
        self.engine = create_store_engine(url)
        migrate(self.engine)
        self.store = SqlStore(self.engine, self.plugin, clock=clock)
        self.token = self.plugin.initialise(self.store)["contracts"]["EUR"]
        import_registry(self.store, evm_accounts_csv(tmp_path / "accounts-evm.csv")[0])
        self.bus = build_bus(settings, self.store)
        self.settle = settlement_round(self.store, self.bus)
        self.follow_ups = SettlementFollowUps(self.bus.reader, self.bus.config, clock)

    def schedule(self) -> HoldSchedule:
        return HoldSchedule(self.store, self.follow_ups, self.clock)

    def pay(self, *txs: Tx) -> list[tuple]:
        outcome = self.bus.handle(pacs008(list(txs)).encode())
        return [(t.status, t.reason) for t in outcome.transactions]

    def settled(self) -> list[tuple]:
        """One settlement round: the follow-up pacs.002s' (uetr, status, reason)."""
        return [answer(m.body)["transactions"][0][2:] for m in self.settle()
                if m.body.lstrip().startswith(b"<") and b"pacs.002" in m.body]

    def settled_once(self, rounds: int = 10) -> list[tuple]:
        """Settlement rounds until one reports something (a loaded machine's node may need more
        than one round to show a transaction mined), at most `rounds`: what it reported."""
        for _ in range(rounds):
            found = self.settled()
            if found:
                return found
        return []

    def hold(self, uetr: str):
        with self.store() as uow:
            (found,) = service.holds_named(uetr, uow)
            return found

    def chain(self, wallet: str) -> tuple[int, int]:
        call = self.plugin.chain.token_call
        return call(self.token, "balanceOf", wallet), call(self.token, "heldBalanceOf", wallet)

    def books_equal_the_chain(self) -> dict[str, tuple[int, int]]:
        """The bridge's books (balance, held) by wallet, checked against the contract and the
        store's holds."""
        with self.store() as uow:
            books = {b.wallet: (b.balance, b.held) for b in uow.ledger.balances() if b.currency == "EUR"}
            held = uow.ledger.holds(HoldState.HELD)
        assert books == {w: self.chain(w) for w in books}
        reserved: dict[str, int] = {}
        for h in held:
            reserved[h.operation.debit_wallet] = reserved.get(h.operation.debit_wallet, 0) + h.reserved
        assert {w: h for w, (_, h) in books.items() if h} == {w: n for w, n in reserved.items() if n}
        return books


@pytest.fixture()
def bank(node, store_url, tmp_path) -> Bank:
    start = datetime.fromtimestamp(node.latest_timestamp(), UTC).astimezone(BERLIN)
    noon = start.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    bank = Bank(node, store_url, tmp_path, Clock(noon))
    yield bank
    bank.engine.dispose()


def mint(amount: str) -> Tx:
    return Tx(amount=amount, debtor_iban=OUTSIDE, creditor_iban=ALICE_IBAN)


def alice_pays_bruno(amount: str, **kw) -> Tx:
    return Tx(amount=amount, debtor_iban=ALICE_IBAN, creditor_iban=BRUNO_IBAN, **kw)


def funded(bank: Bank) -> None:
    tx = mint("100.00")
    assert bank.pay(tx) == [("ACSP", None)]
    assert bank.settled_once() == [(tx.uetr, "ACSC", None)]


def tomorrow(bank: Bank) -> datetime:
    """The start of tomorrow in Berlin (UTC)."""
    today = bank.clock().astimezone(BERLIN).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), BERLIN).astimezone(UTC)


def test_a_value_dated_transfer_is_held_on_chain_and_settles_at_its_date(bank) -> None:
    funded(bank)
    starts = tomorrow(bank)
    tx = alice_pays_bruno("60.00", settlement_date=starts.astimezone(BERLIN).date().isoformat())
    assert bank.pay(tx) == [("ACSP", None)]
    assert bank.settled() == []  # the hold placed on chain answers nothing of its own
    assert bank.chain(ALICE) == (10000, 6000)
    assert bank.books_equal_the_chain() == {ALICE: (10000, 6000)}
    assert bank.pay(alice_pays_bruno("50.00")) == [("RJCT", "AM04")]  # only 40.00 available
    assert bank.schedule().run() == []  # not due yet
    bank.clock.now = starts + timedelta(seconds=30)
    assert bank.schedule().run() == []  # executing is planned: ACSC comes when the chain settles
    assert bank.hold(tx.uetr).state == HoldState.EXECUTED
    assert bank.settled_once() == [(tx.uetr, "ACSC", None)]
    assert bank.books_equal_the_chain() == {ALICE: (4000, 0), BRUNO: (6000, 0)}
    assert bank.schedule().run() == [] and bank.settled() == []  # a restarted worker: nothing twice


def test_a_conditional_payment_is_released_by_its_fulfilment_only(bank) -> None:
    funded(bank)
    expiry = (bank.clock() + timedelta(days=3)).isoformat()
    tx = alice_pays_bruno("30.00", supplementary=condition(LOCK, expiry))
    assert bank.pay(tx) == [("ACSP", None)]
    assert bank.settled() == []
    assert bank.books_equal_the_chain() == {ALICE: (10000, 3000)}
    held = bank.hold(tx.uetr)
    with bank.store() as uow:
        wrong = service.release(uow, held, now=bank.clock(), follow_ups=bank.follow_ups,
                                fulfilment=b"guess".hex())
        uow.commit()
    assert (wrong.done, wrong.reason) == (False, "WRONG") and bank.hold(tx.uetr).wrong_fulfilments == 1
    held = bank.hold(tx.uetr)
    with bank.store() as uow:
        right = service.release(uow, held, now=bank.clock(), follow_ups=bank.follow_ups,
                                fulfilment=SECRET.hex())
        uow.commit()
    assert right.done and right.emitted == ()  # settling: the settlement reports it
    assert bank.settled_once() == [(tx.uetr, "ACSC", None)]
    assert bank.books_equal_the_chain() == {ALICE: (7000, 0), BRUNO: (3000, 0)}


def test_an_unfulfilled_condition_is_voided_on_chain_at_its_expiry(bank) -> None:
    funded(bank)
    expiry = bank.clock() + timedelta(hours=1)
    tx = alice_pays_bruno("30.00", supplementary=condition(LOCK, expiry.isoformat()))
    assert bank.pay(tx) == [("ACSP", None)]
    assert bank.settled() == []
    bank.clock.now = expiry + timedelta(seconds=1)
    (follow_up,) = bank.schedule().run()
    assert answer(follow_up.body)["transactions"][0][2:] == (tx.uetr, "RJCT", "AB03")
    assert bank.chain(ALICE) == (10000, 3000)  # until the void is mined
    assert bank.settled() == []  # the void answers nothing of its own
    assert bank.books_equal_the_chain() == {ALICE: (10000, 0)}
    assert bank.pay(alice_pays_bruno("100.00")) == [("ACSP", None)]  # all of it available again
    assert len(bank.settled_once()) == 1
    assert bank.books_equal_the_chain() == {ALICE: (0, 0), BRUNO: (10000, 0)}


def test_a_held_payment_is_cancelled_by_camt056_and_its_hold_voided_on_chain(bank) -> None:
    funded(bank)
    starts = tomorrow(bank)
    tx = alice_pays_bruno("60.00", settlement_date=starts.astimezone(BERLIN).date().isoformat())
    msg = "MSG-EVM-HELD-1"
    bank.bus.handle(pacs008([tx], msg_id=msg).encode())
    assert bank.settled() == []
    outcome = bank.bus.handle(camt056([CancelTx(msg_id=msg, end_to_end_id=tx.end_to_end_id,
                                                uetr=tx.uetr)]).encode())
    assert [t.status for t in outcome.transactions] == ["ACCR"]
    (follow_up,) = outcome.emitted
    assert answer(follow_up.body)["transactions"][0][3:] == ("RJCT", "DS02")
    assert bank.settled() == []
    assert bank.books_equal_the_chain() == {ALICE: (10000, 0)}
    bank.clock.now = starts + timedelta(hours=1)
    assert bank.schedule().run() == [] and bank.settled() == []  # voided: the date passes without it
    assert bank.books_equal_the_chain() == {ALICE: (10000, 0)}
