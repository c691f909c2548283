"""What a node's answer means for the bridge, whichever node gave it.

Nodes word the same thing differently (geth "nonce too low", Nethermind "OldNonce", Besu
"NONCE_TOO_LOW", eth-tester "Invalid transaction nonce: Expected 5, but got 4"), and reverts
arrive as custom errors, revert strings, panics or nothing at all. Every one of them becomes a
`Verdict`: a reject reason for the pacs.002, or what to do next (wait, re-plan, re-price, ...).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from bridge.codes import Reason

# What to do with the operation or the signed transaction.
REJECT = "reject"  # final: RJCT with `reason`
DUPLICATE = "duplicate"  # the payment reference is already on chain: compare its content
MORE_GAS = "more-gas"  # out of gas: sign again with a higher limit
RETRY = "retry"  # consumed nothing useful: plan again with a new nonce (bounded attempts)
NONCE_USED = "nonce-used"  # the nonce is taken: find out by what (ours mined, or another tx)
NONCE_GAP = "nonce-gap"  # an earlier nonce is missing: wait, the gap gets filled
KNOWN = "known"  # the node already has this very transaction: nothing to do
REPRICE = "reprice"  # fees too low for the node: sign the same nonce again with fresh fees
TRANSIENT = "transient"  # node down, rate-limited, issuer out of ether, ...: try again later

INSUFFICIENT = Reason.INSUFFICIENT_FUNDS
DUPLICATE_REASON = Reason.DUPLICATION
ZERO_AMOUNT = Reason.ZERO_AMOUNT
INVALID_WALLET = Reason.INCORRECT_ACCOUNT_NUMBER
UNSPECIFIED = Reason.NOT_SPECIFIED_AGENT


class NodeError(Exception):
    """A JSON-RPC error object a node returned (e.g. inside a batch), shaped like web3's errors."""

    def __init__(self, error: dict) -> None:
        super().__init__(str(error.get("message", error)))
        self.rpc_response = {"error": error}


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str
    reason: str | None = None  # ISO reason, for REJECT
    info: str = ""


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


ERROR_STRING = _selector("Error(string)")
PANIC = _selector("Panic(uint256)")

# Custom errors: the deposit token's own, and OpenZeppelin's (a bank may bring its own token).
_CUSTOM: dict[bytes, tuple[str, Verdict]] = {_selector(sig): (sig, verdict) for sig, verdict in {
    "InsufficientBalance(address,uint256,uint256)": Verdict(REJECT, INSUFFICIENT),
    "ERC20InsufficientBalance(address,uint256,uint256)": Verdict(REJECT, INSUFFICIENT),
    "ReferenceUsed(bytes32)": Verdict(DUPLICATE),
    "ZeroAmount()": Verdict(REJECT, ZERO_AMOUNT),
    "ZeroWallet()": Verdict(REJECT, INVALID_WALLET),
    "ERC20InvalidReceiver(address)": Verdict(REJECT, INVALID_WALLET),
    "ERC20InvalidSender(address)": Verdict(REJECT, INVALID_WALLET),
    "ZeroReference()": Verdict(REJECT, UNSPECIFIED),
    "HolderTransfersDisabled()": Verdict(REJECT, UNSPECIFIED),  # the bridge never calls transfer()
    # A hold placed twice, or executed/voided once it ended: the bridge's books say otherwise.
    "HoldExists(bytes32)": Verdict(DUPLICATE),
    "HoldNotHeld(bytes32)": Verdict(REJECT, UNSPECIFIED),
    # The key is not the issuer's: an operator must fix the configuration; never the payer's fault.
    "NotIssuer(address)": Verdict(RETRY),
    "OwnableUnauthorizedAccount(address)": Verdict(RETRY),
    "AccessControlUnauthorizedAccount(address,bytes32)": Verdict(RETRY),
    "EnforcedPause()": Verdict(RETRY),
}.items()}

_PANICS = {0x01: "assertion failed", 0x11: "arithmetic overflow", 0x12: "division by zero",
           0x32: "array index out of bounds", 0x41: "out of memory"}

# Revert strings (older or foreign tokens), lower-case fragments -> verdict.
_REVERT_STRINGS: list[tuple[tuple[str, ...], Verdict]] = [
    (("insufficient balance", "exceeds balance", "insufficient funds"), Verdict(REJECT, INSUFFICIENT)),
    (("reference used", "reference already", "duplicate reference", "already settled"), Verdict(DUPLICATE)),
    (("zero address", "invalid receiver", "invalid wallet"), Verdict(REJECT, INVALID_WALLET)),
    (("not issuer", "caller is not", "unauthori", "not the owner", "missing role", "paused"), Verdict(RETRY)),
]

# Node messages, normalised (lower case, letters and digits only) -> action. Order matters:
# "replacement transaction underpriced" must not read as "known".
_NODE_MESSAGES: list[tuple[tuple[str, ...], str]] = [
    (("alreadyknown", "knowntransaction", "alreadyimported", "transactionalreadyexists",
      "alreadyinmempool", "alreadyinpool"), KNOWN),
    (("noncetoolow", "oldnonce", "nonceistoolow", "noncehasalreadybeenused", "nonceused"), NONCE_USED),
    (("noncetoohigh", "noncegap", "futurenonce", "nonceistoohigh", "incorrectnonce"), NONCE_GAP),
    (("underpriced", "feecaplessthanblockbasefee", "maxfeepergaslessthanblockbasefee",
      "gaspricetoolow", "feetoolow", "feecaptoolow", "maxfeepergastoolow", "lessthanblockbasefee"), REPRICE),
    (("intrinsicgastoolow", "outofgas", "gastoolow", "gaslimitreached", "intrinsicgas"), MORE_GAS),
    (("insufficientfunds", "insufficientbalanceforgas", "notenoughfunds"), TRANSIENT),
]

_TESTER_NONCE = re.compile(r"nonce:\s*expected\s*(\d+),\s*but got\s*(\d+)", re.IGNORECASE)
_HEX = re.compile(r"0x[0-9a-fA-F]{8,}")


def decode_revert(data: bytes | None) -> Verdict:
    """A revert's data (custom error, Error(string), Panic(uint256) or nothing) as a verdict."""
    if not data:
        return Verdict(REJECT, UNSPECIFIED, "reverted without a reason")
    selector, body = data[:4], data[4:]
    if selector == ERROR_STRING:
        try:
            (message,) = decode(["string"], body)
        except Exception:  # noqa: BLE001 - malformed revert data
            return Verdict(REJECT, UNSPECIFIED, f"reverted with undecodable data 0x{data.hex()[:80]}")
        return verdict_for_revert_string(message)
    if selector == PANIC:
        code = int.from_bytes(body[:32], "big") if len(body) >= 32 else -1
        return Verdict(REJECT, UNSPECIFIED, f"panic 0x{code:02x} ({_PANICS.get(code, 'panic')})")
    if selector in _CUSTOM:
        signature, verdict = _CUSTOM[selector]
        return Verdict(verdict.action, verdict.reason, f"reverted with {_describe(signature, body)}")
    return Verdict(REJECT, UNSPECIFIED, f"reverted with unknown error 0x{data[:4].hex()}")


def verdict_for_revert_string(message: str) -> Verdict:
    lowered = message.lower()
    for fragments, verdict in _REVERT_STRINGS:
        if any(f in lowered for f in fragments):
            return Verdict(verdict.action, verdict.reason, f"reverted: {message}")
    return Verdict(REJECT, UNSPECIFIED, f"reverted: {message}")


def _describe(signature: str, body: bytes) -> str:
    name, _, args = signature.partition("(")
    types = [t for t in args.rstrip(")").split(",") if t]
    try:
        values = decode(types, body) if types else ()
    except Exception:  # noqa: BLE001
        return name
    shown = ", ".join("0x" + v.hex() if isinstance(v, bytes) else
                      to_checksum_address(v) if isinstance(v, str) and len(v) == 42 and v.startswith("0x")
                      else str(v) for v in values)
    return f"{name}({shown})"


def revert_data(error: BaseException) -> bytes | None:
    """The revert data an exception carries, from web3, a node's JSON-RPC error or eth-tester."""
    candidates: list[object] = [getattr(error, "data", None)]
    response = getattr(error, "rpc_response", None)
    if isinstance(response, dict):
        candidates.append((response.get("error") or {}).get("data"))
    candidates.extend(error.args)
    for candidate in candidates:
        if isinstance(candidate, dict):
            candidate = candidate.get("data") or candidate.get("result")
        if isinstance(candidate, (bytes, bytearray)):
            return bytes(candidate)
        if isinstance(candidate, str):
            found = _bytes_in(candidate)
            if found is not None:
                return found
    return None


def _bytes_in(text: str) -> bytes | None:
    if text.startswith("0x") and re.fullmatch(r"0x[0-9a-fA-F]*", text):
        return bytes.fromhex(text[2:])
    literal = re.search(r"b(['\"]).*\1", text, re.DOTALL)  # eth-tester: "execution reverted: b'...'"
    if literal:
        try:
            value = ast.literal_eval(literal.group(0))
            if isinstance(value, bytes):
                return value
        except (ValueError, SyntaxError):
            pass
    found = _HEX.search(text)
    return bytes.fromhex(found.group(0)[2:]) if found else None


def _message(error: BaseException) -> str:
    response = getattr(error, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return str(response["error"].get("message", ""))
    parts = []
    for arg in error.args:
        if isinstance(arg, dict):
            parts.append(str(arg.get("message", arg)))
        elif not isinstance(arg, (bytes, bytearray)):
            parts.append(str(arg))
    return " ".join(parts) or type(error).__name__


def classify_send_error(error: BaseException) -> Verdict:
    """What an error from eth_sendRawTransaction means, for any node."""
    message = _message(error)
    normalised = re.sub(r"[^a-z0-9]", "", message.lower())
    tester = _TESTER_NONCE.search(message)
    if tester:
        expected, got = int(tester.group(1)), int(tester.group(2))
        return Verdict(NONCE_USED if got < expected else NONCE_GAP, info=message)
    if "revert" in normalised:
        return decode_revert(revert_data(error)) if revert_data(error) else \
            verdict_for_revert_string(message.split("reverted", 1)[-1].strip(" :") or message)
    for fragments, action in _NODE_MESSAGES:
        if any(f in normalised for f in fragments):
            return Verdict(action, info=message)
    return Verdict(TRANSIENT, info=f"{type(error).__name__}: {message}"[:300])
