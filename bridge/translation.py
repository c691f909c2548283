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

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

from bridge.accounts import (ACTIVE, BLOCKED, CLOSED, OMNIBUS, AccountLookup, RegisteredAccount,
                             find_registered)
from bridge.money import NOT_ALLOWED_AMOUNT, AmountOutOfRange, CurrencyError
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, Rejection, TokenOperation
from bridge.parties import Agent, Party, same_institution
from bridge.payments import CreditTransfer, CreditTransferMessage, GroupHeader

__all__ = ["AccountLookup", "transaction_keys", "translate", "translate_message"]

NOT_TOKENIZED = "AC03"  # InvalidCreditorAccountNumber: neither side is an account of ours
CLOSED_ACCOUNT = "AC04"
BLOCKED_ACCOUNT = "AC06"
WRONG_CURRENCY = "AM03"
INVALID_AMOUNT = "AM12"
# The account exists but its type cannot take part in a payment (the bank's reserve or a ledger
# book): InvalidDebtorAccountType / InvalidCreditorAccountType, not AC02/AC03 (the number is valid).
RESERVED_DEBTOR = "AC13"
RESERVED_CREDITOR = "AC14"
SELF_TRANSFER = "AG03"  # TransactionNotSupported: a payment from a wallet to itself moves nothing


def _sender(tx: CreditTransfer, header: GroupHeader) -> str:
    agent = tx.instructing_agent or header.instructing_agent
    return (agent.bic or agent.member_id or "") if agent else ""


def _digest(fields: Sequence[str]) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def transaction_keys(message: CreditTransferMessage) -> list[str]:
    """The idempotency key of each transaction of a message, in order: the UETR where present,
    else a stable hash of instructing agent, MsgId, EndToEndId and TxId.

    Where that hash does not tell transactions of the message apart (EndToEndId NOTPROVIDED and
    no TxId, from pacs.008.001.08), the first keeps it (so a message applied before this rule
    keeps its key) and each later one hashes in its InstrId where that is unique among them,
    else its position too. Two transactions of a message never share a key, except two with the
    same UETR, which rule tx.unique-ids refuses; the same message resent maps to the same keys.
    """
    header = message.group_header
    keys: list[str] = []
    material: list[tuple[str, ...]] = []
    for tx in message.transactions:
        fields = (_sender(tx, header), header.message_id, tx.end_to_end_id, tx.transaction_id or "")
        material.append(fields)
        keys.append(f"uetr:{tx.uetr.lower()}" if tx.uetr else _digest(fields))
    sharing: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        if not key.startswith("uetr:"):
            sharing[key].append(position)
    for positions in sharing.values():
        later = positions[1:]
        instructions = Counter(message.transactions[p].instruction_id for p in positions)
        for position in later:
            instruction = message.transactions[position].instruction_id
            extra = [f"InstrId:{instruction or ''}"]
            if not instruction or instructions[instruction] > 1:
                extra.append(f"position:{position}")
            keys[position] = _digest(material[position] + tuple(extra))
    return keys


def _ours(party: Party, agent: Agent | None, lookup: AccountLookup,
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
        code = RESERVED_DEBTOR if role == "debtor" else RESERVED_CREDITOR
        what = "the bank's omnibus (reserve) account" if account.kind == OMNIBUS else "a ledger book"
        return Rejection(code, f"{role} account {account.account} is {what}: never a payment's "
                               f"{role}")
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


def translate(tx: CreditTransfer, header: GroupHeader, lookup: AccountLookup, *, key: str,
              issuer_bic: str | None = None) -> TokenOperation | Rejection:
    """The token operation a credit transfer means on this bank's ledger, or why there is none.
    `key` is the transaction's idempotency key (transaction_keys); `issuer_bic` the bank's
    BIC, against which the agent on each registered account's side is checked (none: no check)."""
    try:
        amount = tx.amount.to_minor()
    except AmountOutOfRange as exc:
        return Rejection(NOT_ALLOWED_AMOUNT, str(exc))
    except CurrencyError as exc:
        return Rejection(INVALID_AMOUNT, str(exc))
    if amount <= 0:
        return Rejection("AM01", f"amount {tx.amount} is not positive")
    debtor = _ours(tx.debtor, tx.debtor_agent, lookup, issuer_bic)
    creditor = _ours(tx.creditor, tx.creditor_agent, lookup, issuer_bic)
    if debtor is None and creditor is None:
        return Rejection(NOT_TOKENIZED, "neither the debtor's nor the creditor's account is "
                                        "tokenized at this bank")
    for account, role in ((debtor, "debtor"), (creditor, "creditor")):
        problem = _unusable(account, role, tx.amount.currency) if account else None
        if problem:
            return problem
    if debtor and creditor and debtor.wallet == creditor.wallet:
        return Rejection(SELF_TRANSFER, f"debtor and creditor are the same wallet {debtor.wallet}: "
                                        f"a payment to itself is refused")
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
