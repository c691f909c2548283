"""Translation of one credit transfer into a token operation, per the brief's table:

| debtor account | creditor account | operation |
|---|---|---|
| not tokenized | tokenized | MINT to the creditor's wallet |
| tokenized | tokenized | TRANSFER debtor -> creditor |
| tokenized | not tokenized | BURN from the debtor's wallet |
| not tokenized | not tokenized | reject |
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from bridge.accounts import ACTIVE, BLOCKED, CLOSED, RegisteredAccount
from bridge.money import NOT_ALLOWED_AMOUNT, AmountOutOfRange, CurrencyError
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, Rejection, TokenOperation
from bridge.parties import Party
from bridge.payments import CreditTransfer, GroupHeader

AccountLookup = Callable[[str], RegisteredAccount | None]
"""Registry lookup by account id (IBAN or other id)."""

NOT_TOKENIZED = "AC03"  # InvalidCreditorAccountNumber: neither side is an account of ours
CLOSED_ACCOUNT = "AC04"
BLOCKED_ACCOUNT = "AC06"
WRONG_CURRENCY = "AM03"
INVALID_AMOUNT = "AM12"


def idempotency_key(tx: CreditTransfer, header: GroupHeader) -> str:
    """The key every operation of this transaction carries to the ledger: the UETR where
    present, else a stable hash of instructing agent, MsgId, EndToEndId and TxId."""
    if tx.uetr:
        return f"uetr:{tx.uetr.lower()}"
    agent = tx.instructing_agent or header.instructing_agent
    sender = (agent.bic or agent.member_id or "") if agent else ""
    material = "\x1f".join((sender, header.message_id, tx.end_to_end_id, tx.transaction_id or ""))
    return "sha256:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


def _tokenized(party: Party, lookup: AccountLookup) -> RegisteredAccount | None:
    """The registered wallet account of a party; omnibus and unknown accounts are not tokenized."""
    if party.account is None or not party.account.key:
        return None
    found = lookup(party.account.key)
    return found if found is not None and found.is_wallet else None


def _unusable(account: RegisteredAccount, role: str, currency: str) -> Rejection | None:
    if account.status == CLOSED:
        return Rejection(CLOSED_ACCOUNT, f"{role} account {account.account} is closed")
    if account.status == BLOCKED:
        return Rejection(BLOCKED_ACCOUNT, f"{role} account {account.account} is blocked")
    if account.status != ACTIVE:
        return Rejection(BLOCKED_ACCOUNT, f"{role} account {account.account} is {account.status}")
    if account.currency != currency:
        return Rejection(WRONG_CURRENCY, f"{role} account {account.account} holds "
                                         f"{account.currency}, not {currency}")
    return None


def translate(tx: CreditTransfer, header: GroupHeader,
              lookup: AccountLookup) -> TokenOperation | Rejection:
    """The token operation a credit transfer means on this bank's ledger, or why there is none."""
    try:
        amount = tx.amount.to_minor()
    except AmountOutOfRange as exc:
        return Rejection(NOT_ALLOWED_AMOUNT, str(exc))
    except CurrencyError as exc:
        return Rejection(INVALID_AMOUNT, str(exc))
    if amount <= 0:
        return Rejection("AM01", f"amount {tx.amount} is not positive")
    debtor = _tokenized(tx.debtor, lookup)
    creditor = _tokenized(tx.creditor, lookup)
    if debtor is None and creditor is None:
        return Rejection(NOT_TOKENIZED, "neither the debtor's nor the creditor's account is "
                                        "tokenized at this bank")
    for account, role in ((debtor, "debtor"), (creditor, "creditor")):
        problem = _unusable(account, role, tx.amount.currency) if account else None
        if problem:
            return problem
    kind = TRANSFER if debtor and creditor else (MINT if creditor else BURN)
    return TokenOperation(
        key=idempotency_key(tx, header),
        kind=kind,
        currency=tx.amount.currency,
        amount=amount,
        debit_wallet=debtor.wallet if debtor else None,
        credit_wallet=creditor.wallet if creditor else None,
        refs=PaymentRefs(message_id=header.message_id, end_to_end_id=tx.end_to_end_id,
                         transaction_id=tx.transaction_id, uetr=tx.uetr,
                         instruction_id=tx.instruction_id),
    )
