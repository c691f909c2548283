"""Token operations that camt.053 statements cause, and how statement entries and ledger
operations name each other.

One payment, one mint. The same payment can reach the bridge by two roads: its pacs.008 and
the booked credit on the omnibus statement that books its fiat, in either order, in one batch
or apart, and at the same moment in two workers. It is minted once: the two are recognised by
any reference they share (`payment_references`):

- its UETR (`uetr:<uetr>`);
- its EndToEndId (not NOTPROVIDED) together with currency, amount and the wallet minted to
  (`e2e:<CCY>:<amount>:<wallet>:<EndToEndId>`);
- an AcctSvcrRef (`asr:<ref>`): the statement entry's, or the ledger's own reference of the
  mint (`ledger_reference`), which statements out carry and a bank may book the entry under.

Every mint of either road claims its payment's references with the ledger, in the same
transaction and under a unique constraint (`Ledger.apply` with a `MintClaim`); the first
claim of a reference stays. A later road looks the references up (`Ledger.find_claims`)
before it mints: a pacs.008 whose payment a statement entry minted is answered as settled
(ACSC, no new effect; AM05 when the content differs); a statement entry whose payment a
pacs.008 (or an earlier statement) minted is matched to that mint, whatever its age
(`matched`, or `matched_with_difference`). When both roads run at the same moment, the
second to commit finds the first's claim under the unique constraint and is retried, and
the retry finds the claim. Two pacs.008 mints are never one payment by their references:
their own idempotency keys tell them apart (`claims_conflict`).

The key of a mint that a statement entry causes:

- the entry names a UETR: `uetr:<uetr>`, the very key translation gives a pacs.008 with it.
- no UETR, but the underlying message's MsgId and EndToEndId (TxDtls/Refs; TxId too when
  given): `ref:` + sha256(MsgId, EndToEndId, TxId). Operations stored under such keys before
  the references were claimed are still found: a pacs.008 MINT also looks this key up
  (`minted_from_statement`).
- neither (an EndToEndId NOTPROVIDED without a TxId counts as none): the entry is not
  minted (an unapplied credit): without a key of its own a replay of
  the entry could not be told from another payment; a person decides.

A reversal undoes an operation with `rvsl:<key of the operation undone>`: reversing twice is a
replay; a reversal claims nothing.
"""
from __future__ import annotations

import hashlib

from bridge.codes import Reason
from bridge.operations import BURN, MINT, PaymentRefs, TokenOperation
from bridge.payments.keys import uetr_key
from bridge.ports import (PAYMENT_ROAD, REPLAYED, Ledger, LedgerOutcome, MintClaim,
                          RecordedOperation, claims_conflict)
from bridge.reconciliation.entries import NOT_PROVIDED

UETR_REFERENCE, END_TO_END_REFERENCE, SERVICER_REFERENCE = "uetr:", "e2e:", "asr:"
REFERENCE_KEY_PREFIX = "ref:"
REVERSAL_KEY_PREFIX = "rvsl:"
DUPLICATE_PAYMENT = Reason.DUPLICATION
"""The ISO reason (AM05, duplication) for a pacs.008 whose payment a statement entry minted
with other content."""

LEDGER_REFERENCE_PREFIX = "TB"
"""A ledger reference is `TB` + the first 33 hex digits of sha256(key): 35 characters, the
size of `AcctSvcrRef` (Max35Text), and the prefix of the on-chain bytes32 payment reference."""


def ledger_reference(key: str) -> str:
    """The ledger's own reference of an operation, as statements out carry it in AcctSvcrRef."""
    return LEDGER_REFERENCE_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:33]


def reference_key(refs: PaymentRefs) -> str | None:
    """`ref:` + sha256(MsgId, EndToEndId, TxId) of the underlying message, or None without a
    MsgId and an EndToEndId, or when EndToEndId is NOTPROVIDED with no TxId: then several
    transactions of one message share it, and it would make them one payment."""
    if not refs.message_id or not refs.end_to_end_id:
        return None
    if refs.end_to_end_id.upper() == NOT_PROVIDED and not refs.transaction_id:
        return None
    material = "\x1f".join((refs.message_id, refs.end_to_end_id, refs.transaction_id or ""))
    return REFERENCE_KEY_PREFIX + hashlib.sha256(material.encode("utf-8")).hexdigest()


def statement_mint_key(refs: PaymentRefs) -> str | None:
    """The key of a mint caused by a statement credit (see the module's rule), or None when the
    entry names no key to mint its payment under."""
    if refs.uetr:
        return uetr_key(refs.uetr)
    return reference_key(refs)


def payment_references(refs: PaymentRefs, currency: str, amount: int,
                       wallet: str | None) -> tuple[str, ...]:
    """The references by which two roads recognise one payment (see the module's rule): UETR;
    EndToEndId (not NOTPROVIDED) with currency, amount (minor units) and the wallet credited
    (none without a wallet); AcctSvcrRef."""
    found = []
    if refs.uetr:
        found.append(UETR_REFERENCE + refs.uetr.lower())
    e2e = refs.end_to_end_id
    if e2e and e2e.upper() != NOT_PROVIDED and wallet:
        found.append(f"{END_TO_END_REFERENCE}{currency}:{amount}:{wallet}:{e2e}")
    if refs.account_servicer_ref:
        found.append(SERVICER_REFERENCE + refs.account_servicer_ref)
    return tuple(found)


def mint_claim(operation: TokenOperation, road: str) -> MintClaim | None:
    """What a mint of `road` claims: its payment's references and the ledger's own reference
    of it (a later statement entry may carry that in AcctSvcrRef). None for other kinds."""
    if operation.kind != MINT:
        return None
    own = SERVICER_REFERENCE + ledger_reference(operation.key)
    references = payment_references(operation.refs, operation.currency, operation.amount,
                                    operation.credit_wallet)
    return MintClaim(road, tuple(dict.fromkeys(references + (own,))))


def claimed_mints(ledger: Ledger, claim: MintClaim) -> list[RecordedOperation]:
    """The mints holding a reference of `claim` that are this payment (`claims_conflict`),
    first found first, each once."""
    keys = [c.operation_key for c in ledger.find_claims(claim.references)
            if claims_conflict(claim.road, c.road)]
    found = (ledger.find(key) for key in dict.fromkeys(keys))
    return [f for f in found if f is not None]


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


def minted_from_statement(ledger: Ledger, operation: TokenOperation, road: str = PAYMENT_ROAD,
                          claim: MintClaim | None = None) -> LedgerOutcome | None:
    """For a pacs.008 MINT: the outcome when a statement entry already minted this payment
    (a replay: ACSC, no new effect; or AM05 when the content differs); None otherwise, and
    the pipeline applies the operation as usual, claiming its references (`mint_claim`).
    Found by the claims on its references, or under its `ref:` key (statement mints stored
    before references were claimed). With `road` COVER_ROAD, for a pacs.009 cover's MINT: the
    same, when its pacs.008 (or a statement entry, or another cover) minted the payment.
    `claim`: the operation's `mint_claim(operation, road)` where the caller made it already."""
    if claim is None:
        claim = mint_claim(operation, road)
    if claim is None:
        return None
    key = statement_key_of(operation)
    found = ledger.find(key) if key is not None else None
    if found is None:
        found = next(iter(claimed_mints(ledger, claim)), None)
    if found is None or found.operation.key == operation.key:
        return None  # its own key: `apply` answers the replay
    if found.operation.fingerprint == operation.fingerprint:
        return LedgerOutcome(REPLAYED, status=found.status)
    return LedgerOutcome.rejected(DUPLICATE_PAYMENT, f"this payment was already minted from a "
                                                     f"statement entry (key {found.operation.key}) "
                                                     f"with other content")
