"""The chain as the bridge sees it: the deposit-token contracts over JSON-RPC (web3.py).

Signing is local (the issuer's key never leaves the process and is never logged); transactions
go out as raw bytes, so a recorded transaction can be re-broadcast byte for byte. No bridge state
lives here: operation states are in settlement/, the port in ledger.py.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_abi import encode
import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from adapters.bootstrap import ConfigurationError
from adapters.evm.artifact import deposit_token, pvp_settlement
from adapters.evm.errors import (
    MORE_GAS,
    RETRY,
    NodeError,
    Verdict,
    classify_send_error,
    decode_revert,
    revert_data,
)
from bridge.operations import BURN, MINT, TRANSFER

SETTLED_TOPIC = "0x" + keccak(text="Settled(bytes32,address,address,uint256)").hex()
HOLD_PLACED_TOPIC = "0x" + keccak(text="HoldPlaced(bytes32,address,address,uint256,uint256)").hex()
HOLD_VOIDED_TOPIC = "0x" + keccak(text="HoldVoided(bytes32)").hex()
ZERO_ADDRESS = "0x" + "00" * 20

GAS_LIMITS = {MINT: 120_000, TRANSFER: 130_000, BURN: 110_000}
HOLD_GAS_LIMITS = {"hold": 180_000, "void": 70_000, "execute": 170_000}
"""Gas of placing a hold (a new Hold record, ~4 storage slots), voiding one, and executing a held
payment (a transfer or burn plus the hold's bookkeeping); an out-of-gas one is re-signed higher."""
PVP_GAS_LIMIT = 260_000
"""Gas of a payment-versus-payment: two token transfers through the settlement contract."""
"""Gas limit per operation, about 1.3x what the contract uses at worst (a first credit to a new
wallet, a first use of a reference: ~93k mint, ~98k transfer, ~75k burn). Unused gas is not
paid for; an out-of-gas transaction is signed again with twice the limit."""

MAX_GAS_LIMIT = 1_000_000
"""Out-of-gas retries stop doubling here: far above what any operation needs."""

DEPLOY_GAS = 1_500_000
"""Deploying the token uses ~660k gas."""

DEFAULT_PRIORITY_FEE = 1_000_000_000
"""1 gwei tip when the node cannot suggest one (eth_maxPriorityFeePerGas is not universal)."""

LOG_CHUNK_BLOCKS = 5_000
"""eth_getLogs is asked for at most this many blocks at a time: providers cap the range."""

BATCH_SIZE = 200
"""JSON-RPC calls per batch (broadcasts, block headers): one HTTP round trip each."""


# The three operations' calls, encoded directly (web3's generic encoder is ~10x slower).
_CALLS = {kind: (keccak(text=f"{name}({','.join(types)})")[:4], types) for kind, name, types in (
    (MINT, "mint", ["address", "uint256", "bytes32"]),
    (BURN, "burn", ["address", "uint256", "bytes32"]),
    (TRANSFER, "transferBetween", ["address", "address", "uint256", "bytes32"]))}


_SETTLE = (keccak(text="settle(address,address,address,uint256,bytes32,address,address,address,uint256,bytes32)")[:4],
           ["address", "address", "address", "uint256", "bytes32",
            "address", "address", "address", "uint256", "bytes32"])
_SET_SETTLEMENT = (keccak(text="setSettlement(address)")[:4], ["address"])
# Holds (DepositToken.hold / executeHold / voidHold), by hold reference (bytes32).
_HOLD = (keccak(text="hold(bytes32,address,address,uint256,uint64)")[:4],
         ["bytes32", "address", "address", "uint256", "uint64"])
_EXECUTE_HOLD = (keccak(text="executeHold(bytes32,bytes32)")[:4], ["bytes32", "bytes32"])
_VOID_HOLD = (keccak(text="voidHold(bytes32)")[:4], ["bytes32"])


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a payment-versus-payment: a transfer on one token."""

    token: str
    debit: str
    credit: str
    amount: int
    payment_ref: str  # 0x + 64 hex


class ChainConfigurationError(ConfigurationError):
    """The node, key or contracts cannot work together (wrong chain, no code at an address, ...)."""


@dataclass(frozen=True, slots=True)
class SettledLog:
    """One `Settled` event: an operation the chain has applied, with its payment reference."""

    payment_ref: str  # 0x + 64 hex
    token: str  # the contract's checksum address
    from_wallet: str | None  # None for a mint
    to_wallet: str | None  # None for a burn
    amount: int
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    event: str | None = None  # None: Settled; "hold": HoldPlaced, "void": HoldVoided (ref = holdRef)

    @property
    def kind(self) -> str:
        if self.event is not None:
            return self.event
        return MINT if self.from_wallet is None else BURN if self.to_wallet is None else TRANSFER


@dataclass(frozen=True, slots=True)
class SignedTx:
    tx_hash: str
    raw: bytes
    nonce: int
    gas: int


def load_account(private_key: str | None) -> LocalAccount:
    """The issuer's account; errors never repeat the key."""
    if not private_key:
        raise ChainConfigurationError("TOKENBRIDGE_EVM_KEY is not set")
    try:
        return Account.from_key(private_key.strip())
    except Exception:  # noqa: BLE001 - the library's message may quote the key
        raise ChainConfigurationError("TOKENBRIDGE_EVM_KEY is not a valid secp256k1 private key "
                                      "(64 hex digits)") from None


NODE_TIMEOUT_S = 10
"""One JSON-RPC call waits this long at most (TOKENBRIDGE_EVM_TIMEOUT_S)."""


def connect(url: str | None, timeout_s: float = NODE_TIMEOUT_S) -> Web3:
    """The node over HTTP, each call bounded by `timeout_s` and never retried here: a node down
    or hung fails the settlement round at once, and the next round is the retry (web3's own
    retries would hold a round for minutes)."""
    if not url:
        raise ChainConfigurationError("TOKENBRIDGE_EVM_URL is not set")
    if url.startswith(("ws://", "wss://")):
        raise ChainConfigurationError("TOKENBRIDGE_EVM_URL: use the node's HTTP JSON-RPC URL")
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s},
                                  exception_retry_configuration=None))


def as_address(wallet: str | None) -> str | None:
    """A wallet id as a checksum address, or None when it is not a non-zero 20-byte address."""
    if not wallet or not isinstance(wallet, str):
        return None
    text = wallet.strip()
    if len(text) != 42 or not text.lower().startswith("0x"):
        return None
    try:
        address = to_checksum_address(text.lower())
    except ValueError:
        return None
    return None if address == ZERO_ADDRESS else address


def _hex(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _topic_address(topic) -> str | None:
    raw = bytes(topic) if isinstance(topic, (bytes, bytearray)) else bytes.fromhex(_hex(topic)[2:])
    address = to_checksum_address(raw[-20:])
    return None if address == to_checksum_address(ZERO_ADDRESS) else address


class TokenChain:
    """JSON-RPC access to the deposit-token contracts, signing with the issuer's key."""

    def __init__(self, web3: Web3, account: LocalAccount) -> None:
        self.web3 = web3
        self._account = account
        self._contract = web3.eth.contract(abi=deposit_token().abi)
        self._chain_id: int | None = None
        self._times: dict[str, int] = {}  # block hash -> timestamp

    def __repr__(self) -> str:  # never show the key
        return f"TokenChain(issuer={self.address})"

    @property
    def address(self) -> str:
        return self._account.address

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.web3.eth.chain_id)
        return self._chain_id

    # -- writing -----------------------------------------------------------------------------

    def fees(self) -> dict[str, int]:
        """EIP-1559 fees for the next blocks (twice the base fee plus a tip), or a legacy price."""
        base = self.web3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:
            return {"gasPrice": int(self.web3.eth.gas_price)}
        try:
            tip = int(self.web3.eth.max_priority_fee)
        except Exception:  # noqa: BLE001 - not every node has eth_maxPriorityFeePerGas
            tip = DEFAULT_PRIORITY_FEE
        return {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}

    def call_data(self, kind: str, debit: str | None, credit: str | None, amount: int,
                  payment_ref: str) -> str:
        """The contract call for an operation (mint, transferBetween or burn)."""
        ref = bytes.fromhex(payment_ref[2:])
        if kind == MINT:
            args: list = [credit, amount, ref]
        elif kind == BURN:
            args = [debit, amount, ref]
        else:
            args = [debit, credit, amount, ref]
        selector, types = _CALLS[kind]
        return "0x" + (selector + encode(types, args)).hex()

    @staticmethod
    def pvp_call_data(debit: Leg, credit: Leg) -> str:
        """PvpSettlement.settle: the debit leg (debtor -> FX position) and the credit leg (the
        other FX position -> creditor), both or neither."""
        selector, types = _SETTLE
        args = [debit.token, debit.debit, debit.credit, debit.amount, bytes.fromhex(debit.payment_ref[2:]),
                credit.token, credit.debit, credit.credit, credit.amount, bytes.fromhex(credit.payment_ref[2:])]
        return "0x" + (selector + encode(types, args)).hex()

    @staticmethod
    def hold_call_data(hold_ref: str, debit: str, credit: str | None, amount: int, expiry: int) -> str:
        """DepositToken.hold: reserve `amount` of `debit` for a payment to `credit` (None: a
        burn) settling later; `expiry` in unix seconds."""
        selector, types = _HOLD
        args = [bytes.fromhex(hold_ref[2:]), debit, credit or ZERO_ADDRESS, amount, expiry]
        return "0x" + (selector + encode(types, args)).hex()

    @staticmethod
    def execute_hold_call_data(hold_ref: str, payment_ref: str) -> str:
        """DepositToken.executeHold: settle the held payment under its own payment reference."""
        selector, types = _EXECUTE_HOLD
        return "0x" + (selector + encode(types, [bytes.fromhex(hold_ref[2:]),
                                                 bytes.fromhex(payment_ref[2:])])).hex()

    @staticmethod
    def void_hold_call_data(hold_ref: str) -> str:
        """DepositToken.voidHold: end a hold without a payment."""
        selector, types = _VOID_HOLD
        return "0x" + (selector + encode(types, [bytes.fromhex(hold_ref[2:])])).hex()

    def sign(self, to: str | None, data: str, nonce: int, gas: int, fees: dict[str, int],
             value: int = 0) -> SignedTx:
        tx = {"chainId": self.chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data,
              **fees}
        if "maxFeePerGas" in fees:
            tx["type"] = 2
        if to is not None:
            tx["to"] = to
        signed = self._account.sign_transaction(tx)
        return SignedTx(_hex(signed.hash), bytes(signed.raw_transaction), nonce, gas)

    def sign_filler(self, nonce: int, fees: dict[str, int]) -> SignedTx:
        """A 0-value transfer to itself: uses up a nonce nothing else will take."""
        return self.sign(self.address, "0x", nonce, 21_000, fees)

    def replacement_fees(self, raw: bytes) -> dict[str, int]:
        """Fees for a transaction that replaces the signed `raw` in the pool (same nonce): twice
        its own (nodes want at least 10% more of each), and never below the current ones."""
        current = self.fees()
        try:
            sent = (TypedTransaction.from_bytes(raw).as_dict() if raw[:1] and raw[0] < 0x7F
                    else {"gasPrice": rlp.decode(raw)[1]})
        except Exception:  # noqa: BLE001 - not decodable: the current fees, doubled
            sent = {}
        bumped = {name: max(value, 2 * int.from_bytes(sent[name], "big") if isinstance(sent.get(name), bytes)
                            else 2 * int(sent.get(name) or 0)) for name, value in current.items()}
        return {name: 2 * value if not sent else value for name, value in bumped.items()}

    def send(self, raw: bytes) -> Verdict | None:
        """Broadcast a signed transaction; None when the node took it, else what its error means."""
        try:
            self.web3.eth.send_raw_transaction(raw)
        except Exception as error:  # noqa: BLE001 - every node error is classified
            return classify_send_error(error)
        return None

    def send_many(self, raws: list[bytes]) -> list[Verdict | None]:
        """Broadcast many signed transactions, in order: JSON-RPC batches over HTTP (one round
        trip per BATCH_SIZE), one by one elsewhere. Like `send`, per transaction."""
        provider = self.web3.provider
        if len(raws) < 2 or not isinstance(provider, HTTPProvider):
            return [self.send(raw) for raw in raws]
        verdicts: list[Verdict | None] = []
        for start in range(0, len(raws), BATCH_SIZE):
            chunk = raws[start:start + BATCH_SIZE]
            try:
                responses = provider.make_batch_request(
                    [("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in chunk])
            except Exception:  # noqa: BLE001 - a node without batches: one by one
                verdicts.extend(self.send(raw) for raw in chunk)
                continue
            if not isinstance(responses, list) or len(responses) != len(chunk):
                verdicts.extend(self.send(raw) for raw in chunk)
                continue
            for response in responses:
                error = response.get("error") if isinstance(response, dict) else None
                verdicts.append(None if not error else classify_send_error(NodeError(error)))
        return verdicts

    def deploy(self, name: str, symbol: str, decimals: int, fees: dict[str, int] | None = None,
               timeout_s: float = 120) -> tuple[str, int, str]:
        """Deploy one token with the issuer as issuer; (address, block, tx hash) once mined."""
        return self._deploy(deposit_token(), (name, symbol, decimals, self.address), f"{symbol} token",
                            fees, timeout_s)

    def deploy_settlement(self, timeout_s: float = 120) -> tuple[str, int, str]:
        """Deploy the issuer's PvP settlement contract; (address, block, tx hash) once mined."""
        return self._deploy(pvp_settlement(), (self.address,), "PvP settlement", None, timeout_s)

    def name_settlement(self, token: str, settlement: str, timeout_s: float = 120) -> None:
        """Have a token accept the settlement contract's transfers (DepositToken.setSettlement),
        once mined. ChainConfigurationError when the token refuses (an older token has no
        setSettlement: payments across its currency cannot settle on chain)."""
        selector, types = _SET_SETTLEMENT
        data = "0x" + (selector + encode(types, [settlement])).hex()
        self._mined(token, data, 80_000, None, f"naming the settlement on the token at {token}",
                    timeout_s)

    def _deploy(self, artifact, arguments: tuple, what: str, fees: dict[str, int] | None,
                timeout_s: float) -> tuple[str, int, str]:
        constructor = self.web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(
            *arguments)
        receipt, tx_hash = self._mined(None, constructor.data_in_transaction, DEPLOY_GAS, fees,
                                       f"deploying the {what}", timeout_s)
        return to_checksum_address(receipt["contractAddress"]), int(receipt["blockNumber"]), tx_hash

    def _mined(self, to: str | None, data: str, gas: int, fees: dict[str, int] | None, what: str,
               timeout_s: float) -> tuple[dict, str]:
        """Sign and send one set-up transaction at the next nonce and wait for it; its receipt
        and hash. ChainConfigurationError when the node refuses it or it reverts."""
        signed = self.sign(to, data, self.nonce_at("pending"), gas, fees or self.fees())
        verdict = self.send(signed.raw)
        if verdict is not None:
            raise ChainConfigurationError(f"{what} failed: {verdict.action} {verdict.info}")
        receipt = self.web3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=timeout_s,
                                                             poll_latency=0.2)
        if receipt["status"] != 1:
            raise ChainConfigurationError(f"{what} reverted (transaction {signed.tx_hash})")
        return receipt, signed.tx_hash

    # -- reading -----------------------------------------------------------------------------

    def latest(self) -> int:
        return int(self.web3.eth.block_number)

    def nonce_at(self, block: int | str = "latest") -> int:
        """How many transactions of the issuer the chain holds at a block (or in the pool)."""
        return int(self.web3.eth.get_transaction_count(self.address, block))

    def receipt(self, tx_hash: str):
        try:
            return self.web3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def is_known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (pending or mined)."""
        try:
            return self.web3.eth.get_transaction(tx_hash) is not None
        except TransactionNotFound:
            return False

    def block_hash(self, number: int) -> str | None:
        return self.block_hashes([number]).get(number)

    def block_hashes(self, numbers: Iterable[int]) -> dict[int, str]:
        """Canonical hashes of blocks (one batched round trip over HTTP); timestamps cached."""
        wanted = sorted(set(numbers))
        blocks = []
        if len(wanted) > 1 and isinstance(self.web3.provider, HTTPProvider):
            for start in range(0, len(wanted), BATCH_SIZE):
                with self.web3.batch_requests() as batch:
                    for number in wanted[start:start + BATCH_SIZE]:
                        batch.add(self.web3.eth.get_block(number))
                    blocks.extend(batch.execute())
        else:
            blocks = [self._block_or_none(number) for number in wanted]
        found = {}
        for block in blocks:
            if block is not None and not isinstance(block, Exception):
                found[int(block["number"])] = _hex(block["hash"])
                self._times[_hex(block["hash"])] = int(block["timestamp"])
        return found

    def _block_or_none(self, number: int):
        try:
            return self.web3.eth.get_block(number)
        except BlockNotFound:  # beyond the node's head (a shorter chain)
            return None

    def block_time(self, block_hash: str) -> int:
        """A block's timestamp (seconds), cached by hash."""
        if block_hash not in self._times:
            self._times[block_hash] = int(self.web3.eth.get_block(block_hash)["timestamp"])
        return self._times[block_hash]

    def code_at(self, address: str) -> bytes:
        return bytes(self.web3.eth.get_code(address))

    def token_call(self, token: str, function: str, *args, block: int | str = "latest"):
        contract = self.web3.eth.contract(address=token, abi=deposit_token().abi)
        return getattr(contract.functions, function)(*args).call(block_identifier=block)

    def holds_supported(self, token: str) -> bool:
        """Whether the token at `token` enforces holds (has `heldBalanceOf`): a token deployed
        before holds does not, and holds in its currency are refused."""
        try:
            self.token_call(token, "heldBalanceOf", ZERO_ADDRESS)
        except Exception:  # noqa: BLE001 - an older token reverts (no such function)
            return False
        return True

    def settled_logs(self, tokens: Iterable[str], from_block: int, to_block: int,
                     payment_ref: str | None = None) -> list[SettledLog]:
        """`Settled` events of the tokens in [from_block, to_block], in chain order."""
        addresses = list(tokens)
        found: list[SettledLog] = []
        if not addresses:
            return found
        topics = [SETTLED_TOPIC] + ([payment_ref] if payment_ref else [])
        start = max(0, from_block)
        while start <= to_block:
            end = min(to_block, start + LOG_CHUNK_BLOCKS - 1)
            for log in self.web3.eth.get_logs({"address": addresses, "topics": topics,
                                               "fromBlock": start, "toBlock": end}):
                if not log.get("removed"):
                    found.append(self._settled(log))
            start = end + 1
        found.sort(key=lambda s: (s.block_number, s.log_index))
        return found

    def hold_logs(self, tokens: Iterable[str], from_block: int, to_block: int) -> list[SettledLog]:
        """`HoldPlaced` and `HoldVoided` events of the tokens in [from_block, to_block], in chain
        order, read as the settlement reads `Settled` ones (their reference is the hold's)."""
        addresses = list(tokens)
        found: list[SettledLog] = []
        start = max(0, from_block)
        while addresses and start <= to_block:
            end = min(to_block, start + LOG_CHUNK_BLOCKS - 1)
            for log in self.web3.eth.get_logs({"address": addresses, "fromBlock": start, "toBlock": end,
                                               "topics": [[HOLD_PLACED_TOPIC, HOLD_VOIDED_TOPIC]]}):
                if not log.get("removed"):
                    found.append(self._hold_event(log))
            start = end + 1
        found.sort(key=lambda s: (s.block_number, s.log_index))
        return found

    @staticmethod
    def _hold_event(log) -> SettledLog:
        topics = log["topics"]
        placed = _hex(topics[0]) == HOLD_PLACED_TOPIC
        data = bytes(log["data"]) if isinstance(log["data"], (bytes, bytearray)) else bytes.fromhex(
            _hex(log["data"])[2:])
        return SettledLog(
            payment_ref=_hex(topics[1]), token=to_checksum_address(log["address"]),
            from_wallet=_topic_address(topics[2]) if placed else None,
            to_wallet=_topic_address(topics[3]) if placed else None,
            amount=int.from_bytes(data[:32], "big") if placed else 0,
            block_number=int(log["blockNumber"]), block_hash=_hex(log["blockHash"]),
            log_index=int(log["logIndex"]), tx_hash=_hex(log["transactionHash"]),
            event="hold" if placed else "void")

    @staticmethod
    def _settled(log) -> SettledLog:
        return SettledLog(
            payment_ref=_hex(log["topics"][1]), token=to_checksum_address(log["address"]),
            from_wallet=_topic_address(log["topics"][2]), to_wallet=_topic_address(log["topics"][3]),
            amount=int.from_bytes(bytes(log["data"]), "big") if isinstance(
                log["data"], (bytes, bytearray)) else int(_hex(log["data"]), 16),
            block_number=int(log["blockNumber"]), block_hash=_hex(log["blockHash"]),
            log_index=int(log["logIndex"]), tx_hash=_hex(log["transactionHash"]))

    def receipt_settled_logs(self, receipt, token: str) -> list[SettledLog]:
        """The `Settled` events (and HoldPlaced, HoldVoided) of `token` in a transaction's receipt."""
        found = []
        for log in receipt["logs"]:
            topics = log["topics"]
            if to_checksum_address(log["address"]) != token or not topics:
                continue
            if _hex(topics[0]) in (HOLD_PLACED_TOPIC, HOLD_VOIDED_TOPIC):
                found.append(self._hold_event(log))
            elif len(topics) == 4 and _hex(topics[0]) == SETTLED_TOPIC:
                found.append(self._settled(log))
        return found

    def failure_verdict(self, receipt, gas_limit: int, to: str, data: str) -> Verdict:
        """Why a mined transaction reverted (receipt status 0), whatever the node."""
        if int(receipt["gasUsed"]) >= gas_limit:
            return Verdict(MORE_GAS, info=f"out of gas at limit {gas_limit}")
        tx_hash = _hex(receipt["transactionHash"])
        traced = self._traced_output(tx_hash)
        if traced is not None:
            return decode_revert(traced)
        # Replay the call on the state before its block (exact when it was alone in its block);
        # a pruning node (anvil --prune-history) keeps only the latest state: replay on that.
        for block in (int(receipt["blockNumber"]) - 1, "latest"):
            try:
                self.web3.eth.call({"from": self.address, "to": to, "data": data, "gas": gas_limit},
                                   block_identifier=block)
            except Exception as error:  # noqa: BLE001 - the revert is what we want
                found = revert_data(error)
                if found is not None or "revert" in str(error).lower():
                    return decode_revert(found)
                continue  # no state at that block
            break  # the replay went through: the state has moved on since
        # No reason to be had: plan it again; the reference check makes a resend harmless.
        return Verdict(RETRY, info=f"transaction {tx_hash} reverted; the node gives no reason")

    def _traced_output(self, tx_hash: str) -> bytes | None:
        """The revert output from debug_traceTransaction (anvil, geth, ...), when the node has it."""
        try:
            response = self.web3.provider.make_request(
                "debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])
        except Exception:  # noqa: BLE001 - not every node traces
            return None
        result = response.get("result") if isinstance(response, dict) else None
        if not isinstance(result, dict) or "output" not in result:
            return None
        output = result.get("output") or "0x"
        return bytes.fromhex(output[2:]) if output.startswith("0x") else None
