"""Payment versus payment on the EVM ledger: `ledger init` deploys the settlement contract and the
tokens accept it; both legs of a payment across currencies go in ONE chain transaction through
it, or neither: a leg refused by the store's book (AM04) plans nothing, and a leg that fails on
chain reverts the whole transaction (both legs RJCT, nothing moved). On eth-tester, and on a
real node (anvil)."""
from __future__ import annotations

import pytest
from eth_account import Account
from sqlalchemy import update

from adapters.evm.tables import evm_available
from bridge.operations import MINT, TRANSFER, TokenOperation
from ledger_contract import ManualClock
from test_evm_ledger import Bridge, anvil, devchain  # noqa: F401 - the chains, as fixtures

BUYER, SUPPLIER = Account.create().address, Account.create().address
FX_USD, FX_EUR = Account.create().address, Account.create().address


@pytest.fixture()
def bridge(devchain, sqlite_url):
    """test_evm_ledger's chains (eth-tester, and anvil marked slow) and Bridge."""
    return Bridge(devchain, sqlite_url, ManualClock(), currencies="EUR,USD")


def legs(key: str, debit: int = 10_000, credit: int = 9_200) -> tuple[TokenOperation, TokenOperation]:
    return (TokenOperation(key, TRANSFER, "USD", debit, debit_wallet=BUYER, credit_wallet=FX_USD),
            TokenOperation(key + "/fx", TRANSFER, "EUR", credit, debit_wallet=FX_EUR, credit_wallet=SUPPLIER))


def fund(bridge: Bridge, eur_position: int = 500_000) -> None:
    bridge.apply(TokenOperation("fund-usd", MINT, "USD", 100_000, credit_wallet=BUYER),
                 TokenOperation("fund-eur", MINT, "EUR", eur_position, credit_wallet=FX_EUR))
    bridge.settle()


def together(bridge: Bridge, operations):
    with bridge.store()() as uow:
        outcome = uow.ledger.apply_together(operations)
        uow.commit()
    return outcome


def chain_balances(bridge: Bridge) -> dict[tuple[str, str], int]:
    return {(wallet, currency): bridge.on_chain(currency, "balanceOf", wallet)
            for wallet, currency in ((BUYER, "USD"), (FX_USD, "USD"), (FX_EUR, "EUR"), (SUPPLIER, "EUR"))}


def test_ledger_init_deploys_the_settlement_and_the_tokens_accept_it(bridge) -> None:
    settlement = bridge.init["settlement"]
    assert settlement and bridge.plugin.chain.code_at(settlement)
    for currency in ("EUR", "USD"):
        assert bridge.plugin.chain.token_call(bridge.token(currency), "settlement") == settlement
    again = bridge.plugin.initialise(bridge.store())  # idempotent: the same contract
    assert again["settlement"] == settlement


def test_both_legs_settle_in_one_chain_transaction(bridge) -> None:
    fund(bridge)
    outcome = together(bridge, legs("uetr:pvp-1"))
    assert (outcome.result, outcome.status) == ("applied", "ACSP")
    changes = bridge.settle()
    assert sorted((c.key, c.new_status) for c in changes) == [("uetr:pvp-1", "ACSC"), ("uetr:pvp-1/fx", "ACSC")]
    debit, credit = bridge.row("uetr:pvp-1"), bridge.row("uetr:pvp-1/fx")
    assert debit.tx_hash == credit.tx_hash and credit.carrier == debit.seq
    assert chain_balances(bridge) == {(BUYER, "USD"): 90_000, (FX_USD, "USD"): 10_000,
                                      (FX_EUR, "EUR"): 490_800, (SUPPLIER, "EUR"): 9_200}
    assert bridge.on_chain("USD", "totalSupply") == 100_000  # PvP mints nothing
    assert bridge.on_chain("EUR", "totalSupply") == 500_000
    assert together(bridge, legs("uetr:pvp-1")).result == "replayed"  # and changes nothing
    assert bridge.settle() == []


def test_a_leg_the_book_refuses_plans_nothing(bridge) -> None:
    fund(bridge, eur_position=5_000)  # the EUR position cannot pay 92.00
    before = chain_balances(bridge)
    outcome = together(bridge, legs("uetr:pvp-short"))
    assert outcome.rejection.reason == "AM04"
    assert bridge.status("uetr:pvp-short") is None and bridge.status("uetr:pvp-short/fx") is None
    assert bridge.settle() == [] and chain_balances(bridge) == before


def test_a_leg_that_fails_on_chain_reverts_both(bridge) -> None:
    """The store's book believes the EUR position can pay (tampered here); the chain knows it
    cannot: the settlement transaction reverts, both legs RJCT AM04, nothing moved."""
    fund(bridge, eur_position=5_000)
    with bridge.engine.begin() as connection:
        connection.execute(update(evm_available).where(evm_available.c.wallet == FX_EUR)
                           .values(available=1_000_000))
    before = chain_balances(bridge)
    assert together(bridge, legs("uetr:pvp-revert")).result == "applied"
    changes = bridge.settle()
    assert sorted((c.key, c.new_status, c.reason) for c in changes) == [
        ("uetr:pvp-revert", "RJCT", "AM04"), ("uetr:pvp-revert/fx", "RJCT", "AM04")]
    assert chain_balances(bridge) == before  # the debtor's leg did not move either
    assert bridge.on_chain("USD", "totalSupply") == 100_000


def test_without_a_settlement_contract_pvp_is_refused(bridge) -> None:
    from adapters.evm.tables import evm_settlement
    with bridge.engine.begin() as connection:
        connection.execute(evm_settlement.delete())
    bridge.plugin._settlement = None  # as a process that never ran the new `ledger init`
    fund(bridge)
    outcome = together(bridge, legs("uetr:pvp-none"))
    assert outcome.rejection.reason == "AG03" and "ledger init" in outcome.rejection.info


def test_a_pvp_pacs008_is_answered_acsp_then_followed_up_acsc_once(bridge) -> None:
    """Through the pipeline and the worker's settlement round: the answer states the rate and
    both amounts (ACSP), the follow-up pacs.002 reports the payment once (its debit leg)."""
    from adapters.bootstrap import settlement_round
    from bridge.accounts import RegisteredAccount
    from bridge.iso.reader import MessageReader
    from builders import Tx, pacs008
    from pvp_support import BUYER as BUYER_ACCOUNT, FX_EUR as FX_EUR_ACCOUNT
    from pvp_support import FX_USD as FX_USD_ACCOUNT, SUPPLIER as SUPPLIER_ACCOUNT, pipeline
    from pvp_support import reply_transactions
    fund(bridge)
    store = bridge.store()
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount(BUYER_ACCOUNT, "USD", BUYER),
                             RegisteredAccount(SUPPLIER_ACCOUNT, "EUR", SUPPLIER),
                             RegisteredAccount(FX_USD_ACCOUNT, "USD", FX_USD, kind="fx"),
                             RegisteredAccount(FX_EUR_ACCOUNT, "EUR", FX_EUR, kind="fx")])
        uow.commit()
    bus = pipeline(store)
    answer = bus.handle(pacs008([Tx(amount="92.00", currency="EUR", debtor_iban=BUYER_ACCOUNT,
                                    creditor_iban=SUPPLIER_ACCOUNT, debtor_bic="TOKNDEFFXXX",
                                    instructed=("100.00", "USD"), xchg_rate="0.92")],
                            instructing_bic="TOKNDEFFXXX").encode())
    [(status, _, info)] = reply_transactions(answer.reply.body)
    assert status == "ACSP" and "debited 100.00 USD, credited 92.00 EUR" in info
    settle = settlement_round(store, bus)
    follow_ups = []
    for _ in range(10):
        follow_ups += settle()
        if not bridge.settler.pending():
            break
        bridge.devchain.mine()
    [follow_up] = [m for m in follow_ups if m.message_type.startswith("pacs.002")]
    assert {m.message_type[:8] for m in follow_ups} == {"pacs.002", "camt.054"}  # notified when final
    assert [s for s, _, _ in reply_transactions(follow_up.body)] == ["ACSC"]
    assert MessageReader().read(follow_up.body).valid
    assert chain_balances(bridge)[(SUPPLIER, "EUR")] == 9_200


def test_a_planned_pvp_is_cancelled_whole_and_one_in_flight_is_not(bridge) -> None:
    """A cancellation (camt.056) of a PvP never signed cancels both legs (their funds free
    again); one already submitted settles or fails whole, so it is final for a cancellation."""
    from bridge.ports import CANCELLED, FINAL
    fund(bridge)
    together(bridge, legs("uetr:pvp-cancel"))
    with bridge.store()() as uow:
        assert uow.ledger.cancel("uetr:pvp-cancel", "test").result == CANCELLED
        uow.commit()
    assert bridge.row("uetr:pvp-cancel").state == bridge.row("uetr:pvp-cancel/fx").state == "cancelled"
    assert bridge.settle() == [] and chain_balances(bridge)[(SUPPLIER, "EUR")] == 0
    assert together(bridge, legs("uetr:pvp-again")).result == "applied"  # the funds were released
    bridge.settler.submit()
    with bridge.store()() as uow:
        assert uow.ledger.cancel("uetr:pvp-again", "test").result == FINAL
        uow.commit()
    bridge.settle()
    assert chain_balances(bridge)[(SUPPLIER, "EUR")] == 9_200
