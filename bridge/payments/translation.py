"""Translation of one credit transfer into a token operation, per the brief's table:

| debtor account | creditor account | operation |
|---|---|---|
| not tokenized | tokenized | MINT to the creditor's wallet |
| tokenized | tokenized | TRANSFER debtor -> creditor |
| tokenized | not tokenized | BURN from the debtor's wallet |
| not tokenized | not tokenized | reject |

An account is ours when the registry has it (bridge.accounts.find_registered) and the message
does not name another bank as the agent on its side. The omnibus account and the ledger's own
books are never a payment's debtor or creditor, and a wallet never pays itself.
"""
from __future__ import annotations

from bridge.accounts import (ACTIVE, BLOCKED, CLOSED, OMNIBUS, AccountLookup, RegisteredAccount,
                             find_registered)
from bridge.codes import Reason
from bridge.money import AmountOutOfRange, CurrencyError
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, Rejection, TokenOperation
from bridge.parties import Agent, Party, same_institution
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader
from bridge.payments.keys import transaction_keys

__all__ = ["AccountLookup", "ours", "translate", "translate_message"]


def ours(party: Party, agent: Agent | None, lookup: AccountLookup,
          issuer_bic: str | None) -> RegisteredAccount | None:
    """The registry account a party names, unless the message names another bank as the agent
    on its side (a look-alike elsewhere). An agent named without a BIC cannot be compared."""
    found = find_registered(party.account, lookup)
    if found is None:
        return None
    if issuer_bic and agent is not None and agent.bic and not same_institution(agent.bic, issuer_bic):
        return None
    return found


def _unusable(account: RegisteredAccount, role: str, currency: str) -> Rejection | None:
    if account.is_ledger_book:
        code = (Reason.INVALID_DEBTOR_ACCOUNT_TYPE if role == "debtor"
                else Reason.INVALID_CREDITOR_ACCOUNT_TYPE)
        what = "the bank's omnibus (reserve) account" if account.kind == OMNIBUS else "a ledger book"
        return Rejection(code, f"{role} account {account.account} is {what}: never a payment's "
                               f"{role}")
    if account.status == CLOSED:
        return Rejection(Reason.CLOSED_ACCOUNT_NUMBER, f"{role} account {account.account} is closed")
    if account.status == BLOCKED:
        return Rejection(Reason.BLOCKED_ACCOUNT, f"{role} account {account.account} is blocked")
    if account.status != ACTIVE:
        return Rejection(Reason.BLOCKED_ACCOUNT, f"{role} account {account.account} is {account.status}")
    if account.currency != currency:
        return Rejection(Reason.NOT_ALLOWED_CURRENCY,
                         f"{role} account {account.account} holds {account.currency}, not {currency}")
    return None


def translate(tx: CreditTransfer, header: GroupHeader, lookup: AccountLookup, *, key: str,
              issuer_bic: str | None = None) -> TokenOperation | Rejection:
    """The token operation a credit transfer means on this bank's ledger, or why there is none.
    `key` is the transaction's idempotency key (transaction_keys); `issuer_bic` the bank's
    BIC, against which the agent on each registered account's side is checked (none: no check)."""
    try:
        amount = tx.amount.to_minor()
    except AmountOutOfRange as exc:
        return Rejection(Reason.NOT_ALLOWED_AMOUNT, str(exc))
    except CurrencyError as exc:
        return Rejection(Reason.INVALID_AMOUNT, str(exc))
    if amount <= 0:
        return Rejection(Reason.ZERO_AMOUNT, f"amount {tx.amount} is not positive")
    debtor = ours(tx.debtor, tx.debtor_agent, lookup, issuer_bic)
    creditor = ours(tx.creditor, tx.creditor_agent, lookup, issuer_bic)
    if debtor is None and creditor is None:
        return Rejection(Reason.INVALID_CREDITOR_ACCOUNT_NUMBER,
                         "neither the debtor's nor the creditor's account is tokenized at this bank")
    for account, role in ((debtor, "debtor"), (creditor, "creditor")):
        problem = _unusable(account, role, tx.amount.currency) if account else None
        if problem:
            return problem
    if debtor and creditor and debtor.wallet == creditor.wallet:
        return Rejection(Reason.TRANSACTION_NOT_SUPPORTED, f"debtor and creditor are the same wallet "
                                                            f"{debtor.wallet}: a payment to itself is refused")
    kind = TRANSFER if debtor and creditor else (MINT if creditor else BURN)
    return TokenOperation(
        key=key,
        kind=kind,
        currency=tx.amount.currency,
        amount=amount,
        debit_wallet=debtor.wallet if debtor else None,
        credit_wallet=creditor.wallet if creditor else None,
        refs=PaymentRefs(message_id=header.message_id, end_to_end_id=tx.end_to_end_id,
                         transaction_id=tx.transaction_id, uetr=tx.uetr,
                         instruction_id=tx.instruction_id),
    )


def translate_message(message: CreditTransferMessage, lookup: AccountLookup,
                      issuer_bic: str | None = None) -> list[TokenOperation | Rejection]:
    """Every transaction of a pacs.008 translated, in order, each with its key (transaction_keys)."""
    keys = transaction_keys(message)
    return [translate(tx, message.group_header, lookup, key=key, issuer_bic=issuer_bic)
            for tx, key in zip(message.transactions, keys, strict=True)]
