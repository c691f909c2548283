"""pain.001 on the EVM ledger (eth-tester, and anvil marked slow): a transfer and a burn are
answered ACSP; the burn's fiat leg leaves with the answer (in the unit of work of the planned
burn), once; the worker's settlement round tells the corporate with a follow-up pain.002 when
the chain made them final. A burn across currencies (the FX position funding it) is refused
here: the settlement contract moves tokens, it does not burn them."""
from __future__ import annotations

import pytest
from eth_account import Account

from bridge.accounts import RegisteredAccount
from bridge.operations import MINT, TokenOperation
from ledger_contract import ManualClock
from pain001_builders import Block, Payment, pain001
from pvp_support import BUYER as BUYER_ACCOUNT, FATIMA, FX_EUR as FX_EUR_ACCOUNT
from pvp_support import FX_USD as FX_USD_ACCOUNT, SUPPLIER_USD as SUPPLIER_ACCOUNT, pipeline
from test_corporates import texts, xsd_valid
from test_evm_ledger import Bridge, anvil, devchain  # noqa: F401 - the chains, as fixtures

BUYER, SUPPLIER = Account.create().address, Account.create().address
FX_USD, FX_EUR = Account.create().address, Account.create().address
CHANNEL = "NORTHWIND-TRADING"
TODAY = "2026-11-24"  # pvp_support.NOW: the EVM ledger holds nothing for later


@pytest.fixture()
def bridge(devchain, sqlite_url):
    bridge = Bridge(devchain, sqlite_url, ManualClock(), currencies="EUR,USD")
    bridge.apply(TokenOperation("fund-usd", MINT, "USD", 100_000, credit_wallet=BUYER),
                 TokenOperation("fund-eur", MINT, "EUR", 500_000, credit_wallet=FX_EUR))
    bridge.settle()
    with bridge.store()() as uow:
        uow.accounts.upsert([RegisteredAccount(BUYER_ACCOUNT, "USD", BUYER, group=CHANNEL),
                             RegisteredAccount(SUPPLIER_ACCOUNT, "USD", SUPPLIER),
                             RegisteredAccount(FX_USD_ACCOUNT, "USD", FX_USD, kind="fx"),
                             RegisteredAccount(FX_EUR_ACCOUNT, "EUR", FX_EUR, kind="fx")])
        uow.commit()
    return bridge


def settled(bridge, bus) -> list:
    """What the worker's settlement rounds emit until the chain has nothing pending."""
    from adapters.bootstrap import settlement_round
    settle, emitted = settlement_round(bridge.store(), bus), []
    for _ in range(10):
        emitted += settle()
        if not bridge.settler.pending():
            break
        bridge.devchain.mine()
    return [m for m in emitted if not m.message_type.startswith("camt.054")]


def test_a_transfer_and_a_burn_are_followed_up_with_a_pain002_and_the_fiat_leg_leaves_once(bridge) -> None:
    bus = pipeline(bridge.store(), corporate_senders=frozenset({CHANNEL}))
    message = pain001([Block(debtor_iban=BUYER_ACCOUNT, execution_date=TODAY, payments=[
        Payment(amount="100.00", currency="USD", creditor_iban=SUPPLIER_ACCOUNT),
        Payment(amount="50.00", currency="USD", creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX")])],
        channel=CHANNEL).encode()
    answer = bus.handle(message)
    assert [t.status for t in answer.transactions] == ["ACSP", "ACSP"], answer.transactions
    [leg] = [m for m in answer.emitted if m.message_type.startswith("pacs.008")]
    assert xsd_valid(leg.body) == "pacs.008.001.08" and texts(leg.body, "IntrBkSttlmAmt") == ["50.00"]
    [follow_up] = settled(bridge, bus)
    assert xsd_valid(follow_up.body) == "pain.002.001.10"
    assert texts(follow_up.body, "TxSts") == ["ACSC", "ACSC"] and texts(follow_up.body, "GrpSts") == ["ACSC"]
    assert texts(follow_up.body, "OrgnlMsgId") == texts(answer.reply.body, "OrgnlMsgId")
    assert bridge.on_chain("USD", "balanceOf", BUYER) == 85_000
    assert bridge.on_chain("USD", "balanceOf", SUPPLIER) == 10_000
    assert bridge.on_chain("USD", "totalSupply") == 95_000  # 50.00 left on the fiat leg
    again = bus.handle(message)  # a replay: no second fiat leg, nothing planned
    assert again.seen_before and again.emitted == () and settled(bridge, bus) == []


def test_a_burn_across_currencies_is_refused_on_chain_and_changes_nothing(bridge) -> None:
    bus = pipeline(bridge.store(), corporate_senders=frozenset({CHANNEL}))
    answer = bus.handle(pain001([Block(debtor_iban=BUYER_ACCOUNT, execution_date=TODAY, payments=[
        Payment(amount="9.20", currency="EUR", creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX")])],
        channel=CHANNEL).encode())
    [tx] = answer.transactions
    assert (tx.status, tx.reason) == ("RJCT", "AG03")
    assert [m for m in answer.emitted if m.message_type.startswith("pacs.008")] == []
    assert settled(bridge, bus) == [] and bridge.on_chain("USD", "balanceOf", BUYER) == 100_000
