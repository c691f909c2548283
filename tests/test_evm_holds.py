"""Holds on the deposit-token contract, on anvil: the held amount stays in the balance but no
transfer, burn or PvP leg can take it; a hold ends once, executed or voided."""
from __future__ import annotations

import pytest
from eth_account import Account

from adapters.evm.artifact import deposit_token
from adapters.evm.chain import TokenChain
from adapters.evm.errors import decode_revert, revert_data
from tests.conftest import start_anvil

REF1, REF2, REF3, REF4 = (bytes([n]) * 32 for n in (1, 2, 3, 4))
HOLD1, HOLD2 = b"\xa1" * 32, b"\xa2" * 32
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def node():
    anvil = start_anvil()
    yield anvil
    anvil.stop()


@pytest.fixture()
def token(node):
    issuer = Account.create()
    node.fund(issuer.address)
    chain = TokenChain(node.web3, issuer)
    address, _, _ = chain.deploy("Bank EUR deposit token", "dEUR", 2)
    alice, bruno = Account.create().address, Account.create().address
    assert _send(chain, address, "mint", alice, 1000, REF1) is None
    return chain, address, alice, bruno


def _send(chain: TokenChain, address: str, function: str, *args) -> str | None:
    """Call the token as its issuer: None when mined, else the revert as decoded."""
    data = chain.web3.eth.contract(address=address, abi=deposit_token().abi).encode_abi(function, args=list(args))
    try:
        chain.web3.eth.call({"from": chain.address, "to": address, "data": data})
    except Exception as error:  # noqa: BLE001 - the revert is what we want
        return decode_revert(revert_data(error)).info
    tx = chain.sign(address, data, chain.nonce_at("pending"), 300_000, chain.fees())
    assert chain.send(tx.raw) is None
    assert chain.web3.eth.wait_for_transaction_receipt(tx.tx_hash, timeout=30)["status"] == 1
    return None


def _state(chain: TokenChain, address: str, *wallets: str) -> list[tuple[int, int, int]]:
    return [(chain.token_call(address, "balanceOf", w), chain.token_call(address, "heldBalanceOf", w),
             chain.token_call(address, "availableBalanceOf", w)) for w in wallets]


def test_a_held_amount_cannot_be_spent_around(token) -> None:
    chain, address, alice, bruno = token
    assert _send(chain, address, "hold", HOLD1, alice, bruno, 700, 2_000_000_000) is None
    assert _state(chain, address, alice) == [(1000, 700, 300)]
    insufficient = f"InsufficientBalance({alice}, 300, 301)"
    assert insufficient in _send(chain, address, "transferBetween", alice, bruno, 301, REF2)
    assert insufficient in _send(chain, address, "burn", alice, 301, REF2)
    assert f"InsufficientBalance({alice}, 300, 400)" in _send(chain, address, "hold", HOLD2, alice, bruno, 400, 0)
    assert _send(chain, address, "transferBetween", alice, bruno, 300, REF2) is None  # what is free
    assert _state(chain, address, alice, bruno) == [(700, 700, 0), (300, 0, 300)]
    assert chain.token_call(address, "totalSupply") == 1000


def test_a_hold_executes_once_under_its_payment_reference(token) -> None:
    chain, address, alice, bruno = token
    _send(chain, address, "hold", HOLD1, alice, bruno, 600, 2_000_000_000)
    assert _send(chain, address, "executeHold", HOLD1, REF2) is None
    assert _state(chain, address, alice, bruno) == [(400, 0, 400), (600, 0, 600)]
    assert f"HoldNotHeld(0x{HOLD1.hex()})" in _send(chain, address, "executeHold", HOLD1, REF3)
    assert f"HoldNotHeld(0x{HOLD1.hex()})" in _send(chain, address, "voidHold", HOLD1)
    settled = chain.settled_logs([address], 0, chain.latest())
    assert [(s.kind, s.from_wallet, s.to_wallet, s.amount, s.payment_ref) for s in settled][-1] == (
        "transfer", alice, bruno, 600, "0x" + REF2.hex())
    assert chain.token_call(address, "holds", HOLD1)[2] == 2  # Executed


def test_a_void_gives_the_reserve_back_once(token) -> None:
    chain, address, alice, bruno = token
    _send(chain, address, "hold", HOLD1, alice, bruno, 600, 1)
    assert _send(chain, address, "voidHold", HOLD1) is None
    assert _state(chain, address, alice) == [(1000, 0, 1000)]
    assert f"HoldNotHeld(0x{HOLD1.hex()})" in _send(chain, address, "voidHold", HOLD1)
    assert f"HoldNotHeld(0x{HOLD1.hex()})" in _send(chain, address, "executeHold", HOLD1, REF2)
    assert f"HoldExists(0x{HOLD1.hex()})" in _send(chain, address, "hold", HOLD1, alice, bruno, 1, 1)
    assert chain.token_call(address, "holds", HOLD1)[2] == 3  # Voided


def test_a_held_burn_destroys_the_reserve(token) -> None:
    chain, address, alice, _ = token
    _send(chain, address, "hold", HOLD1, alice, ZERO, 250, 1)
    assert _send(chain, address, "executeHold", HOLD1, REF2) is None
    assert _state(chain, address, alice) == [(750, 0, 750)]
    assert chain.token_call(address, "totalSupply") == 750


def test_execution_needs_a_fresh_payment_reference(token) -> None:
    chain, address, alice, bruno = token
    _send(chain, address, "hold", HOLD1, alice, bruno, 100, 1)
    assert f"ReferenceUsed(0x{REF1.hex()})" in _send(chain, address, "executeHold", HOLD1, REF1)
    assert _state(chain, address, alice) == [(1000, 100, 900)]  # still held


def test_only_the_issuer_holds(token, node) -> None:
    chain, address, alice, bruno = token
    other = Account.create()
    node.fund(other.address)
    as_other = TokenChain(node.web3, other)
    assert f"NotIssuer({other.address})" in _send(as_other, address, "hold", HOLD1, alice, bruno, 1, 1)
    _send(chain, address, "hold", HOLD1, alice, bruno, 1, 1)
    for function, args in (("executeHold", (HOLD1, REF2)), ("voidHold", (HOLD1,))):
        assert f"NotIssuer({other.address})" in _send(as_other, address, function, *args)


def test_the_bridge_encodes_the_hold_calls_as_the_abi_does(token) -> None:
    chain, address, alice, bruno = token
    contract = chain.web3.eth.contract(address=address, abi=deposit_token().abi)
    hold1, ref2 = "0x" + HOLD1.hex(), "0x" + REF2.hex()
    assert chain.hold_call_data(hold1, alice, bruno, 5, 7) == contract.encode_abi(
        "hold", args=[HOLD1, alice, bruno, 5, 7])
    assert chain.hold_call_data(hold1, alice, None, 5, 7) == contract.encode_abi(
        "hold", args=[HOLD1, alice, ZERO, 5, 7])
    assert chain.execute_hold_call_data(hold1, ref2) == contract.encode_abi("executeHold", args=[HOLD1, REF2])
    assert chain.void_hold_call_data(hold1) == contract.encode_abi("voidHold", args=[HOLD1])
    assert chain.holds_supported(address)


# -- the EVM ledger's port: a hold takes the amount from what is available, once -------------

def test_the_evm_ledger_holds_once_and_refuses_what_is_not_available(node, store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from ledger_contract import ManualClock
    from sqlalchemy import func, select
    from test_evm_ledger import Bridge, address_of

    from adapters.evm.tables import evm_available, evm_operations
    from bridge.codes import Reason
    from bridge.holds.terms import HoldKind, HoldState, HoldTerms
    from bridge.operations import MINT, TRANSFER, TokenOperation
    from bridge.ports import APPLIED, REPLAYED

    clock = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    bridge = Bridge(node, store_url, clock, currencies="EUR")
    alice, bruno = address_of("alice"), address_of("bruno")
    bridge.apply(TokenOperation("m-1", MINT, "EUR", 1000, None, alice))
    bridge.settle()
    terms = HoldTerms(HoldKind.VALUE_DATED, clock() + timedelta(days=1))
    held = TokenOperation("t-1", TRANSFER, "EUR", 600, alice, bruno)

    def rows(uow) -> int:
        return uow.connection.execute(select(func.count()).select_from(evm_operations)).scalar_one()

    def available(uow) -> int:
        return uow.connection.execute(select(evm_available.c.available).where(
            evm_available.c.wallet == alice)).scalar_one()

    with bridge.store()() as uow:
        before = rows(uow)
        first = uow.ledger.hold(held, terms)
        assert (first.result, first.status) == (APPLIED, "ACSP")
        assert uow.ledger.hold(held, terms).result == REPLAYED
        assert uow.ledger.hold(TokenOperation("t-1", TRANSFER, "EUR", 601, alice, bruno), terms
                               ).rejection.reason == Reason.DUPLICATION
        assert uow.ledger.hold(TokenOperation("t-2", TRANSFER, "EUR", 401, alice, bruno), terms
                               ).rejection.reason == "AM04"
        assert (rows(uow), available(uow)) == (before + 1, 400)  # the hold row, planned
        assert uow.ledger.find_hold("t-1").state == HoldState.HELD
        assert uow.ledger.find("t-1").status == "ACSP"
        uow.commit()
    bridge.settle()
    token = bridge.init["contracts"]["EUR"]
    assert bridge.plugin.chain.token_call(token, "heldBalanceOf", alice) == 600
    # A token deployed before holds (no heldBalanceOf) cannot hold: AG03, nothing changes.
    bridge.plugin._holding[token] = False
    with bridge.store()() as uow:
        refused = uow.ledger.hold(TokenOperation("t-3", TRANSFER, "EUR", 100, alice, bruno), terms)
        assert refused.rejection.reason == Reason.TRANSACTION_NOT_SUPPORTED
        assert "cannot hold tokens" in refused.rejection.info
        assert (rows(uow), available(uow), uow.ledger.find_hold("t-3")) == (before + 1, 400, None)
    assert not bridge.plugin.chain.holds_supported(bridge.init["settlement"])
