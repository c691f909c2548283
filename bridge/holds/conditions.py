"""Conditional payments: a SHA-256 hashlock and an expiry, carried in a transaction's
supplementary data (INTERFACE.md "Conditions"): `SplmtryData` with `PlcAndNm`
`tokenbridge:condition`, its `Envlp` holding `Cond` in the namespace `urn:tokenbridge:condition:1`
with `Sha256` (64 hex digits) and `Expiry` (ISO 8601 with offset)."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

PLACE_AND_NAME = "tokenbridge:condition"
NAMESPACE = "urn:tokenbridge:condition:1"

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class ConditionError(ValueError):
    """A condition that cannot be used (not 64 hex digits, an expiry without offset, ...)."""


@dataclass(frozen=True, slots=True)
class Condition:
    sha256: str  # the hashlock, 64 lower-case hex digits
    expiry: datetime  # aware


def condition_of(sha256: str | None, expiry: str | None) -> Condition:
    """A condition from the texts of `Sha256` and `Expiry`; ConditionError saying what is wrong."""
    if sha256 is None or not _SHA256.fullmatch(sha256.strip()):
        raise ConditionError("Cond/Sha256 must be 64 hex digits (the SHA-256 of the fulfilment)")
    try:
        when = datetime.fromisoformat((expiry or "").strip())
    except ValueError:
        raise ConditionError(f"Cond/Expiry {expiry!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise ConditionError(f"Cond/Expiry {expiry!r} has no offset (write Z or +01:00)")
    return Condition(sha256.strip().lower(), when)


def fulfils(sha256: str, fulfilment_hex: str) -> bool:
    """Whether `fulfilment_hex` (the preimage, hex) hashes to the lock `sha256`. Compared in
    constant time: a release must not tell how close a guess was."""
    text = fulfilment_hex.strip()
    if not _HEX.fullmatch(text):
        return False
    digest = hashlib.sha256(bytes.fromhex(text)).hexdigest()
    return hmac.compare_digest(digest, sha256.lower())
