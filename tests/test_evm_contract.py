"""The deposit-token contract: its reproducible compilation and its rules, on an in-process chain."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest
from eth_account import Account

from adapters.evm.artifact import deposit_token
from adapters.evm.chain import SETTLED_TOPIC, TokenChain
from adapters.evm.devchain import EVM_DIR, TesterChain, ToolchainMissing, npm_install
from adapters.evm.errors import decode_revert, revert_data


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.mark.slow  # solc from npm
def test_the_committed_artifact_is_what_the_pinned_solc_compiles() -> None:
    """CI recompiles DepositToken.sol with the solc pinned in package-lock.json (offline, via
    node) and fails when the committed DepositToken.json differs."""
    if shutil.which("node") is None:
        message = "node is not installed: cannot recompile DepositToken.sol"
        if _in_ci():
            pytest.fail(message + "; CI=true requires it", pytrace=False)
        pytest.skip(message)
    try:
        npm_install()
    except ToolchainMissing as error:
        if _in_ci():
            pytest.fail(f"{error}; CI=true requires it", pytrace=False)
        pytest.skip(str(error))
    done = subprocess.run(["node", "compile.js", "--check"], cwd=EVM_DIR, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_artifact_records_its_compiler_settings_and_source() -> None:
    data = json.loads((EVM_DIR / "DepositToken.json").read_text())
    lock = json.loads((EVM_DIR / "package-lock.json").read_text())
    solc = lock["packages"]["node_modules/solc"]["version"]
    assert data["compiler"]["version"].startswith(solc + "+commit.")
    assert data["compiler"]["evmVersion"] == "cancun"
    source = (EVM_DIR / "DepositToken.sol").read_bytes()
    assert data["sourceSha256"] == hashlib.sha256(source).hexdigest()
    assert f"pragma solidity {solc};".encode() in source  # the source pins the same compiler
    assert deposit_token().bytecode == data["bytecode"]
    package = json.loads((EVM_DIR / "package.json").read_text())
    pinned = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert pinned["solc"] == solc  # exact, not a range


# -- the rules, on chain ------------------------------------------------------------------------

@pytest.fixture()
def token():
    chain = TesterChain()
    issuer, other = Account.create(), Account.create()
    chain.fund(issuer.address)
    chain.fund(other.address)
    as_issuer, as_other = TokenChain(chain.web3, issuer), TokenChain(chain.web3, other)
    address, _, _ = as_issuer.deploy("Bank EUR deposit token", "dEUR", 2)
    return chain, as_issuer, as_other, address


def _send(chain: TokenChain, address: str, function: str, *args):
    contract = chain.web3.eth.contract(address=address, abi=deposit_token().abi)
    data = contract.encode_abi(function, args=list(args))
    tx = chain.sign(address, data, chain.nonce_at("pending"), 200_000, chain.fees())
    assert chain.send(tx.raw) is None
    receipt = chain.receipt(tx.tx_hash)
    if receipt["status"] == 1:
        return receipt, None
    try:
        chain.web3.eth.call({"from": chain.address, "to": address, "data": data},
                            block_identifier=receipt["blockNumber"] - 1)
    except Exception as error:  # noqa: BLE001
        return receipt, decode_revert(revert_data(error)).info
    raise AssertionError("reverted on chain, not in the replay")


REF1, REF2, REF3 = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32


def test_only_the_issuer_mints_burns_and_moves(token) -> None:
    _, issuer, other, address = token
    alice, bruno = Account.create().address, Account.create().address
    assert _send(issuer, address, "mint", alice, 1000, REF1)[1] is None
    for function, args in (("mint", (bruno, 1, REF2)), ("burn", (alice, 1, REF2)),
                           ("transferBetween", (alice, bruno, 1, REF2))):
        _, why = _send(other, address, function, *args)
        assert why.startswith(f"reverted with NotIssuer({other.address}")
    assert issuer.token_call(address, "balanceOf", alice) == 1000


def test_holders_cannot_move_tokens_themselves(token) -> None:
    _, issuer, other, address = token
    _send(issuer, address, "mint", other.address, 500, REF1)
    for function, args in (("transfer", (issuer.address, 1)), ("approve", (issuer.address, 1)),
                           ("transferFrom", (other.address, issuer.address, 1))):
        assert _send(other, address, function, *args)[1] == "reverted with HolderTransfersDisabled()"
    assert issuer.token_call(address, "allowance", other.address, issuer.address) == 0


def test_a_reused_payment_reference_is_refused_on_chain(token) -> None:
    _, issuer, _, address = token
    alice = Account.create().address
    receipt, _ = _send(issuer, address, "mint", alice, 1000, REF1)
    assert issuer.token_call(address, "settledIn", REF1) == receipt["blockNumber"]
    for function, args in (("mint", (alice, 1000, REF1)), ("burn", (alice, 1, REF1)),
                           ("transferBetween", (alice, alice, 1, REF1))):
        assert _send(issuer, address, function, *args)[1] == f"reverted with ReferenceUsed(0x{REF1.hex()})"
    assert issuer.token_call(address, "totalSupply") == 1000


def test_every_operation_emits_transfer_and_settled_with_its_reference(token) -> None:
    _, issuer, _, address = token
    alice, bruno = Account.create().address, Account.create().address
    _send(issuer, address, "mint", alice, 1000, REF1)
    _send(issuer, address, "transferBetween", alice, bruno, 300, REF2)
    _send(issuer, address, "burn", bruno, 100, REF3)
    settled = issuer.settled_logs([address], 0, issuer.latest())
    assert [(s.kind, s.from_wallet, s.to_wallet, s.amount, s.payment_ref) for s in settled] == [
        ("mint", None, alice, 1000, "0x" + REF1.hex()), ("transfer", alice, bruno, 300, "0x" + REF2.hex()),
        ("burn", bruno, None, 100, "0x" + REF3.hex())]
    contract = issuer.web3.eth.contract(address=address, abi=deposit_token().abi)
    transfers = contract.events.Transfer().get_logs(from_block=0)
    assert [(t.args["from"][-4:], t.args["to"][-4:], t.args["value"]) for t in transfers] == [
        ("0000", alice[-4:], 1000), (alice[-4:], bruno[-4:], 300), (bruno[-4:], "0000", 100)]
    assert SETTLED_TOPIC.startswith("0x") and len(SETTLED_TOPIC) == 66
    assert (issuer.token_call(address, "totalSupply"), issuer.token_call(address, "balanceOf", alice),
            issuer.token_call(address, "balanceOf", bruno)) == (900, 700, 200)


def test_overdrafts_zero_amounts_and_zero_wallets_are_refused(token) -> None:
    _, issuer, _, address = token
    alice = Account.create().address
    _send(issuer, address, "mint", alice, 10, REF1)
    assert _send(issuer, address, "burn", alice, 11, REF2)[1] == f"reverted with InsufficientBalance({alice}, 10, 11)"
    assert _send(issuer, address, "mint", alice, 0, REF2)[1] == "reverted with ZeroAmount()"
    assert _send(issuer, address, "mint", "0x" + "00" * 20, 5, REF2)[1] == "reverted with ZeroWallet()"
    assert _send(issuer, address, "mint", alice, 5, b"\x00" * 32)[1] == "reverted with ZeroReference()"
    assert issuer.token_call(address, "totalSupply") == 10


def test_name_symbol_decimals_and_issuer(token) -> None:
    _, issuer, _, address = token
    assert [issuer.token_call(address, f) for f in ("name", "symbol", "decimals", "issuer")] == [
        "Bank EUR deposit token", "dEUR", 2, issuer.address]
