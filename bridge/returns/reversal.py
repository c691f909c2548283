"""A return's effect on the ledger: the operation reversing (part of) the original, under a key
of its own derived from the return's identity."""
from __future__ import annotations

import hashlib

from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, TokenOperation

RETURN_KEY_PREFIX = "return:"
MAX_KEY_LENGTH = 100
"""The longest idempotency key the stores keep (operations.key)."""


def return_key(original_key: str, return_id: str) -> str:
    """The idempotency key of the return `return_id` of the operation under `original_key`:
    `return:<original key>:<return id>`, or where that is longer than a key may be,
    `return:sha256:<hash of both>`. The same return id again is the same return (a replay);
    another return of the same original has another id."""
    readable = f"{RETURN_KEY_PREFIX}{original_key}:{return_id}"
    if len(readable) <= MAX_KEY_LENGTH:
        return readable
    digest = hashlib.sha256(f"{original_key}\x1f{return_id}".encode("utf-8")).hexdigest()
    return f"{RETURN_KEY_PREFIX}sha256:{digest}"


def reversal(original: TokenOperation, key: str, amount: int, refs: PaymentRefs) -> TokenOperation:
    """The operation giving `amount` of `original` back: a mint is burnt from the wallet it
    credited, a transfer goes back, a burn is minted back to the wallet it debited."""
    if original.kind == MINT:
        return TokenOperation(key, BURN, original.currency, amount, debit_wallet=original.credit_wallet,
                              refs=refs)
    if original.kind == TRANSFER:
        return TokenOperation(key, TRANSFER, original.currency, amount,
                              debit_wallet=original.credit_wallet, credit_wallet=original.debit_wallet,
                              refs=refs)
    if original.kind == BURN:
        return TokenOperation(key, MINT, original.currency, amount, credit_wallet=original.debit_wallet,
                              refs=refs)
    raise ValueError(f"no reversal of a {original.kind!r} operation")
