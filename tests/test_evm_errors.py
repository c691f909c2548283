"""Node errors and reverts, from different nodes, become the same verdicts (unit tests, no chain)."""
from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from adapters.evm.errors import (
    DUPLICATE,
    KNOWN,
    MORE_GAS,
    NONCE_GAP,
    NONCE_USED,
    REJECT,
    REPRICE,
    RETRY,
    TRANSIENT,
    classify_send_error,
    decode_revert,
    revert_data,
)


def custom(signature: str, types: list[str], values: list) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def error_string(message: str) -> bytes:
    return custom("Error(string)", ["string"], [message])


WALLET = "0x" + "ab" * 20


@pytest.mark.parametrize("data, action, reason", [
    (custom("InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [WALLET, 5, 9]), REJECT, "AM04"),
    (custom("ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [WALLET, 5, 9]), REJECT, "AM04"),
    (error_string("ERC20: transfer amount exceeds balance"), REJECT, "AM04"),
    (error_string("insufficient balance"), REJECT, "AM04"),
    (custom("ReferenceUsed(bytes32)", ["bytes32"], [b"\x01" * 32]), DUPLICATE, None),
    (error_string("payment reference already settled"), DUPLICATE, None),
    (custom("ZeroAmount()", [], []), REJECT, "AM01"),
    (custom("ZeroWallet()", [], []), REJECT, "AC01"),
    (custom("ERC20InvalidReceiver(address)", ["address"], [WALLET]), REJECT, "AC01"),
    (custom("NotIssuer(address)", ["address"], [WALLET]), RETRY, None),
    (custom("OwnableUnauthorizedAccount(address)", ["address"], [WALLET]), RETRY, None),
    (error_string("Ownable: caller is not the owner"), RETRY, None),
    (custom("Panic(uint256)", ["uint256"], [0x11]), REJECT, "MS03"),
    (error_string("something else entirely"), REJECT, "MS03"),
    (b"\xde\xad\xbe\xef", REJECT, "MS03"),
    (b"", REJECT, "MS03"),
])
def test_reverts_become_reject_reasons_or_retries(data, action, reason) -> None:
    verdict = decode_revert(data)
    assert (verdict.action, verdict.reason) == (action, reason)
    assert verdict.info


def test_the_revert_info_names_the_error_and_its_arguments() -> None:
    data = custom("InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [WALLET, 5, 9])
    assert "InsufficientBalance(" in decode_revert(data).info and ", 5, 9)" in decode_revert(data).info
    assert "panic 0x11 (arithmetic overflow)" in decode_revert(custom("Panic(uint256)", ["uint256"], [0x11])).info


class RpcError(Exception):
    """Shaped like web3's Web3RPCError: the node's JSON-RPC error in `rpc_response`."""

    def __init__(self, message: str, data=None) -> None:
        error = {"code": -32000, "message": message}
        if data is not None:
            error["data"] = data
        super().__init__(str(error))
        self.rpc_response = {"jsonrpc": "2.0", "id": 1, "error": error}


SEND_ERRORS = [
    # geth
    (RpcError("nonce too low: next nonce 7, tx nonce 5"), NONCE_USED),
    (RpcError("already known"), KNOWN),
    (RpcError("replacement transaction underpriced"), REPRICE),
    (RpcError("transaction underpriced: tip needed 1, tip permitted 0"), REPRICE),
    (RpcError("max fee per gas less than block base fee: address 0x.., maxFeePerGas: 1, baseFee: 7"), REPRICE),
    (RpcError("intrinsic gas too low: gas 20000, minimum needed 21000"), MORE_GAS),
    (RpcError("insufficient funds for gas * price + value: balance 0, tx cost 1"), TRANSIENT),
    (RpcError("nonce too high"), NONCE_GAP),
    # anvil (foundry)
    (RpcError("nonce too low"), NONCE_USED),
    (RpcError("transaction already imported"), KNOWN),
    (RpcError("max fee per gas less than block base fee"), REPRICE),
    # Nethermind
    (RpcError("OldNonce"), NONCE_USED),
    (RpcError("AlreadyKnown"), KNOWN),
    (RpcError("FeeTooLow, MaxFeePerGas too low"), REPRICE),
    # Besu
    (RpcError("Nonce too low"), NONCE_USED),
    (RpcError("Known transaction"), KNOWN),
    (RpcError("NONCE_TOO_HIGH"), NONCE_GAP),
    (RpcError("Upfront cost exceeds account balance"), TRANSIENT),
    # eth-tester
    (ValueError("Invalid transaction nonce: Expected 5, but got 4"), NONCE_USED),
    (ValueError("Invalid transaction nonce: Expected 5, but got 9"), NONCE_GAP),
    # the network itself
    (ConnectionError("Connection refused"), TRANSIENT),
    (TimeoutError("read timed out"), TRANSIENT),
]


@pytest.mark.parametrize("error, action", SEND_ERRORS, ids=[str(e[0])[:40] for e in SEND_ERRORS])
def test_send_errors_from_every_node_mean_the_same(error, action) -> None:
    assert classify_send_error(error).action == action


def test_reverts_reported_at_send_are_decoded_whatever_the_shape() -> None:
    data = custom("InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [WALLET, 1, 2])
    shapes = [
        RpcError("execution reverted", "0x" + data.hex()),  # geth, anvil: hex in error.data
        RpcError("execution reverted", {"data": "0x" + data.hex()}),  # some providers nest it
        ValueError(f"execution reverted: {data!r}"),  # eth-tester: the bytes literal in the message
        RpcError("execution reverted: ERC20: transfer amount exceeds balance"),  # a revert string, no data
    ]
    for error in shapes:
        verdict = classify_send_error(error)
        assert (verdict.action, verdict.reason) == (REJECT, "AM04"), error


def test_web3_and_eth_tester_exceptions_carry_revert_data() -> None:
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import ContractCustomError, ContractLogicError
    data = custom("ReferenceUsed(bytes32)", ["bytes32"], [b"\x02" * 32])
    assert revert_data(ContractCustomError("0x" + data.hex(), data="0x" + data.hex())) == data
    assert revert_data(ContractLogicError("execution reverted", data="0x" + data.hex())) == data
    assert revert_data(TransactionFailed(f"execution reverted: {data!r}")) == data
    assert revert_data(TransactionFailed(data)) == data
    assert revert_data(ValueError("nothing in here")) is None


def test_every_custom_error_of_the_deposit_token_has_a_meaning() -> None:
    from eth_abi import encode as abi_encode

    from adapters.evm.artifact import deposit_token
    for item in deposit_token().abi:
        if item["type"] != "error":
            continue
        types = [i["type"] for i in item["inputs"]]
        data = keccak(text=f"{item['name']}({','.join(types)})")[:4] + abi_encode(
            types, [b"\x00" * 32 if t == "bytes32" else WALLET if t == "address" else 1 for t in types])
        assert "unknown error" not in decode_revert(data).info, item["name"]
