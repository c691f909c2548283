"""pain.001 across currencies and for later dates, on the SQL ledger (SQLite and PostgreSQL):
a creditor here in another currency paid PvP, a creditor elsewhere paid by a burn the FX
position of the instructed currency funds (its fiat leg in that currency, with its AppHdr), the
rate and both amounts in the pain.002; a leg that cannot be paid changes nothing; a future
ReqdExctnDt held and executed by the holds scheduler, the fiat leg leaving then, with a
follow-up pain.002. Dates move by an injected clock."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree

from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.fx.rates import parse_rate_csv
from bridge.holds.schedule import HoldSchedule
from bridge.iso.reader import MessageReader
from bridge.operations import MINT, TokenOperation
from bridge.settlement.follow_ups import SettlementFollowUps
from pain001_builders import ISSUER, Block, Payment, pain001
from pvp_support import Clock
from test_corporates import texts, xsd_valid

BUYER, BUYER_USD, SUPPLIER = "NORTHWIND", "US-NORTHWIND-USD", "DE80500199000777000002"
FX_USD, FX_EUR = "DE26500199000777000004", "DE96500199000777000005"
FATIMA = "FR7630004008280001058392658"  # BNP Paribas: not tokenized here
RATES = ("base,quote,rate,valid_from,valid_until,spread_bps\n"
         "USD,EUR,0.92,2026-11-24T00:00:00Z,2026-12-10T00:00:00Z,0\n")
ACCOUNTS = [
    RegisteredAccount(BUYER_USD, "USD", "w-buyer", scheme="Prtry:TOKENBANK", group=BUYER),
    RegisteredAccount(SUPPLIER, "EUR", "w-supplier", group="LUMEN"),
    RegisteredAccount(FX_USD, "USD", "fx-usd", kind="fx"),
    RegisteredAccount(FX_EUR, "EUR", "fx-eur", kind="fx"),
]
FUNDS = {"w-buyer": ("USD", 1_000_000), "fx-eur": ("EUR", 500_000)}


class Bank:
    """The SQL store, the bus and the holds scheduler on one clock."""

    def __init__(self, url: str) -> None:
        self.clock = Clock(datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc))
        engine = create_store_engine(url)
        migrate(engine)
        self.store = SqlStore(engine, SqlLedgerPlugin(clock=self.clock), clock=self.clock)
        with self.store() as uow:
            uow.accounts.upsert(ACCOUNTS)
            for wallet, (currency, units) in FUNDS.items():
                uow.ledger.apply(TokenOperation(f"fund:{wallet}", MINT, currency, units, credit_wallet=wallet))
            uow.commit()
        self.config = BridgeConfig(issuer_bic=ISSUER, corporate_senders=frozenset({BUYER}),
                                   rates=parse_rate_csv(RATES))
        self.bus = MessageBus(MessageReader(), self.store, self.config, clock=self.clock,
                              is_transient=self.store.is_transient)
        self.schedule = HoldSchedule(self.store, SettlementFollowUps(MessageReader(), self.config, self.clock),
                                     self.clock)

    def state(self) -> tuple[dict, dict]:
        with self.store() as uow:
            return ({b.wallet: b.balance for b in uow.ledger.balances() if b.balance}, uow.ledger.supply())


@pytest.fixture()
def bank(store_url: str) -> Bank:
    bank = Bank(store_url)
    yield bank
    bank.store.engine.dispose()


def block(*payments: Payment, execution_date: str = "2026-12-01") -> Block:
    return Block(debtor_iban=None, debtor_other=BUYER_USD, payments=list(payments),
                 execution_date=execution_date)


def to_supplier(amount: str = "920.00") -> Payment:  # EUR to the supplier's EUR wallet here
    return Payment(amount=amount, currency="EUR", creditor_iban=SUPPLIER)


def to_fatima(amount: str = "92.00") -> Payment:  # EUR to a creditor at BNP Paribas
    return Payment(amount=amount, currency="EUR", creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX",
                   creditor_name="Fatima Ouali")


def others(outcome) -> list:
    return [m for m in outcome.emitted if not m.message_type.startswith("camt.054")]


def test_a_payment_to_a_creditor_here_in_another_currency_settles_pvp(bank) -> None:
    message = pain001([block(to_supplier())], channel=BUYER).encode()
    outcome = bank.bus.handle(message)
    [tx] = outcome.transactions
    assert (tx.status, tx.result, outcome.verdict) == ("ACSC", "applied", "accepted")
    assert bank.state() == ({"w-buyer": 900_000, "fx-usd": 100_000, "fx-eur": 408_000,
                             "w-supplier": 92_000}, {"USD": 1_000_000, "EUR": 500_000})  # mints nothing
    assert others(outcome) == []
    assert xsd_valid(outcome.reply.body) == "pain.002.001.10"
    [info] = texts(outcome.reply.body, "AddtlInf")
    assert "USD->EUR rate 0.92" in info and "1000.00" in info and "920.00" in info
    again = bank.bus.handle(message)
    assert again.seen_before and bank.state()[0]["w-buyer"] == 900_000


def test_a_payment_elsewhere_in_another_currency_burns_the_fx_position_and_sends_its_fiat_leg(bank) -> None:
    message = pain001([block(to_fatima())], channel=BUYER).encode()
    outcome = bank.bus.handle(message)
    [tx] = outcome.transactions
    assert (tx.status, tx.result) == ("ACSC", "applied"), tx
    assert bank.state() == ({"w-buyer": 990_000, "fx-usd": 10_000, "fx-eur": 490_800},
                            {"USD": 1_000_000, "EUR": 490_800})  # EUR left on the fiat leg
    [leg] = others(outcome)
    assert xsd_valid(leg.body) == "pacs.008.001.08"
    assert texts(leg.body, "IntrBkSttlmAmt") == ["92.00"] and texts(leg.body, "UETR") == [tx.uetr]
    header = etree.fromstring(leg.body)[0]  # the AppHdr: from us to the creditor's agent
    assert [e.text for e in header.iter("{*}BICFI")] == [ISSUER, "BNPAFRPPXXX"]
    assert not MessageReader().read(leg.body).findings
    [info] = texts(outcome.reply.body, "AddtlInf")
    assert "USD->EUR rate 0.92" in info
    before = bank.state()
    again = bank.bus.handle(message)  # a replay: nothing moves, no second fiat leg
    assert again.seen_before and again.emitted == () and bank.state() == before


def test_a_leg_that_cannot_be_paid_changes_nothing(bank) -> None:
    before = bank.state()
    short = bank.bus.handle(pain001([block(to_fatima("6000.00"))], channel=BUYER).encode())
    assert short.transactions[0].reason == "AM04" and others(short) == [] and bank.state() == before
    bank.clock.now = datetime(2026, 12, 11, tzinfo=timezone.utc)  # the rate expired
    stale = bank.bus.handle(pain001([block(to_supplier())], channel=BUYER).encode())
    assert stale.transactions[0].reason == "AM03" and bank.state() == before


def test_a_future_execution_date_holds_and_the_scheduler_executes_with_the_fiat_leg_then(bank) -> None:
    dollars = Payment(amount="250.00", currency="USD", creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX")
    outcome = bank.bus.handle(pain001([block(dollars, execution_date="2026-12-03")], channel=BUYER).encode())
    [tx] = outcome.transactions
    assert tx.status == "ACSP" and others(outcome) == []  # accepted pending: no fiat leg yet
    assert texts(outcome.reply.body, "TxSts") == ["ACSP"]
    assert bank.schedule.run() == [] and bank.state()[0]["w-buyer"] == 1_000_000
    bank.clock.now = datetime(2026, 12, 3, 0, 1, tzinfo=timezone.utc)
    emitted = bank.schedule.run()
    assert sorted(m.message_type for m in emitted if not m.message_type.startswith("camt.054")) == [
        "pacs.008.001.08", "pain.002.001.10"]
    assert [xsd_valid(m.body) for m in emitted]
    [leg] = [m for m in emitted if m.message_type.startswith("pacs.008")]
    assert texts(leg.body, "IntrBkSttlmDt") == ["2026-12-03"] and texts(leg.body, "UETR") == [tx.uetr]
    [report] = [m for m in emitted if m.message_type.startswith("pain.002")]
    assert texts(report.body, "TxSts") == ["ACSC"]
    assert bank.state() == ({"w-buyer": 975_000, "fx-eur": 500_000}, {"USD": 975_000, "EUR": 500_000})
    assert bank.schedule.run() == []  # executed once


def test_a_payment_across_currencies_for_a_later_date_is_refused(bank) -> None:
    before = bank.state()
    outcome = bank.bus.handle(pain001([block(to_supplier(), execution_date="2026-12-05")],
                                      channel=BUYER).encode())
    assert (outcome.transactions[0].status, outcome.transactions[0].reason) == ("RJCT", "AG03")
    assert bank.state() == before
