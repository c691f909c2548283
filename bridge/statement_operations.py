"""Token operations that camt.053 statements cause, and how statement entries and ledger
operations name each other.

The same payment can reach the bridge twice: as a pacs.008 and as a booked credit on the
omnibus statement. It must be minted once, whichever comes first. The rule for the key of a
mint that a statement entry causes:

- the entry names a UETR: `uetr:<uetr>`, the very key translation gives the pacs.008. The
  ledger's unique key does the rest: the second arrival is a replay (same content, no effect)
  or AM05 (same key, other content).
- no UETR, but the underlying message's MsgId and EndToEndId (TxDtls/Refs; TxId too when
  given): `ref:` + sha256(MsgId, EndToEndId, TxId). A pacs.008 MINT looks this key up before it
  applies (`minted_from_statement`), so a later pacs.008 of the same payment is answered as
  settled and mints nothing. Its own key cannot be rebuilt from a statement: it hashes the
  instructing agent, which a camt.053 does not carry.
- neither: the entry is not minted (an unapplied credit). Nothing would let a later pacs.008
  recognise it, so minting could mint twice; a person decides.

A reversal undoes an operation with `rvsl:<key of the operation undone>`: reversing twice is a
replay.
"""
from __future__ import annotations

import hashlib

from bridge.operations import BURN, MINT, PaymentRefs, TokenOperation
from bridge.ports import REPLAYED, Ledger, LedgerOutcome

REFERENCE_KEY_PREFIX = "ref:"
REVERSAL_KEY_PREFIX = "rvsl:"
DUPLICATE = "AM05"

LEDGER_REFERENCE_PREFIX = "TB"
"""A ledger reference is `TB` + the first 33 hex digits of sha256(key): 35 characters, the
size of `AcctSvcrRef` (Max35Text), and the prefix of the on-chain bytes32 payment reference."""


def ledger_reference(key: str) -> str:
    """The ledger's own reference of an operation, as statements out carry it in AcctSvcrRef."""
    return LEDGER_REFERENCE_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:33]


def uetr_key(uetr: str) -> str:
    """The key of a payment with a UETR: the same for a pacs.008 and a statement entry."""
    return f"uetr:{uetr.lower()}"


def reference_key(refs: PaymentRefs) -> str | None:
    """`ref:` + sha256(MsgId, EndToEndId, TxId) of the underlying message, or None without a
    MsgId and an EndToEndId."""
    if not refs.message_id or not refs.end_to_end_id:
        return None
    material = "\x1f".join((refs.message_id, refs.end_to_end_id, refs.transaction_id or ""))
    return REFERENCE_KEY_PREFIX + hashlib.sha256(material.encode("utf-8")).hexdigest()


def statement_mint_key(refs: PaymentRefs) -> str | None:
    """The key of a mint caused by a statement credit (see the module's rule), or None when the
    entry's references would not let a later pacs.008 of the same payment find it."""
    if refs.uetr:
        return uetr_key(refs.uetr)
    return reference_key(refs)


def reversal_key(undone_key: str) -> str:
    return REVERSAL_KEY_PREFIX + undone_key


def is_reversal(key: str) -> bool:
    return key.startswith(REVERSAL_KEY_PREFIX)


def statement_mint(key: str, currency: str, amount: int, wallet: str,
                   refs: PaymentRefs) -> TokenOperation:
    """The mint a booked omnibus credit causes. Its fingerprint is the one the pacs.008 of the
    same payment would have (mint, currency, amount, creditor wallet): so it replays."""
    return TokenOperation(key=key, kind=MINT, currency=currency, amount=amount,
                          credit_wallet=wallet, refs=refs)


def undo(original: TokenOperation, amount: int, account_servicer_ref: str | None) -> TokenOperation:
    """The operation that undoes `original` (a mint or a burn) when the bank reverses its entry:
    a burn from the wallet minted to, or a mint back to the wallet burned from. It keeps the
    original's payment references, so statements out show what it reverses."""
    refs = PaymentRefs(original.refs.message_id, original.refs.end_to_end_id,
                       original.refs.transaction_id, original.refs.uetr,
                       original.refs.instruction_id, account_servicer_ref)
    if original.kind == MINT:
        return TokenOperation(reversal_key(original.key), BURN, original.currency, amount,
                              debit_wallet=original.credit_wallet, refs=refs)
    if original.kind == BURN:
        return TokenOperation(reversal_key(original.key), MINT, original.currency, amount,
                              credit_wallet=original.debit_wallet, refs=refs)
    raise ValueError(f"only a mint or a burn can be undone by a statement reversal, not {original.kind}")


def statement_key_of(operation: TokenOperation) -> str | None:
    """The `ref:` key under which a statement entry would have minted this pacs.008 MINT's
    payment (None: not a mint, or nothing to look up)."""
    if operation.kind != MINT:
        return None
    key = reference_key(operation.refs)
    return None if key == operation.key else key


def minted_from_statement(ledger: Ledger, operation: TokenOperation) -> LedgerOutcome | None:
    """For a pacs.008 MINT: the outcome when a statement entry already minted this payment
    under its `ref:` key (a replay, or AM05 when the content differs); None otherwise, and the
    pipeline applies the operation as usual. One key lookup, on the ledger's unique index."""
    key = statement_key_of(operation)
    if key is None:
        return None
    found = ledger.find(key)
    if found is None:
        return None
    if found.operation.fingerprint == operation.fingerprint:
        return LedgerOutcome(REPLAYED, status=found.status)
    return LedgerOutcome.rejected(DUPLICATE, f"this payment was already minted from a statement "
                                             f"entry (key {key}) with other content")
