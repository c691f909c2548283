"""Translation of one credit transfer into a token operation, per the brief's table:

| debtor account | creditor account | operation |
|---|---|---|
| not tokenized | tokenized | MINT to the creditor's wallet |
| tokenized | tokenized | TRANSFER debtor -> creditor |
| tokenized | not tokenized | BURN from the debtor's wallet |
| not tokenized | not tokenized | reject |

An account is ours when the registry has it (bridge.accounts.find_registered) and the message
does not name another bank as the agent on its side. The omnibus account and the ledger's own
books are never a payment's debtor or creditor, and a wallet never pays itself in its own
currency. The bank's FX position accounts are never a customer payment's (pacs.008, a cover's
underlying): only a pacs.009 of the bank's own liquidity funds or defunds them by account id.

A TRANSFER between accounts of different currencies is a payment across currencies, settled
payment-versus-payment (a CrossCurrencyPayment, priced and applied by bridge.fx.settlement):
the message's IntrBkSttlmAmt fixes the amount on the side of its currency, an InstdAmt in the
other account's currency fixes the other side, and XchgRate (IntrBkSttlmAmt = InstdAmt x
XchgRate) is the message's rate. A MINT or BURN moves one currency only: an account of another
currency than the payment's is refused AM03, as before.

A pacs.009 cover payment moves its underlying customer credit transfer: its debtor's and
creditor's accounts and agents are the underlying's (`UndrlygCstmrCdtTrf`), its amount and keys
the pacs.009's own (a cover's UETR is its pacs.008's, so both are one key: the money moves once).
"""
from __future__ import annotations

from decimal import Decimal, localcontext

from bridge.accounts import (ACTIVE, BLOCKED, CLOSED, OMNIBUS, AccountLookup, RegisteredAccount,
                             find_registered)
from bridge.codes import Reason
from bridge.fx.exchange import CrossCurrencyPayment
from bridge.fx.rates import PRECISION
from bridge.money import Amount, AmountOutOfRange, CurrencyError, minor_units
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, Rejection, TokenOperation
from bridge.parties import Agent, Party, same_institution
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader
from bridge.payments.keys import transaction_keys

__all__ = ["AccountLookup", "Decision", "accounts_named", "ours", "translate", "translate_message"]


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


def _unusable(account: RegisteredAccount, role: str, currency: str, *,
              bank_liquidity: bool = False) -> Rejection | None:
    if account.is_ledger_book:
        code = (Reason.INVALID_DEBTOR_ACCOUNT_TYPE if role == "debtor"
                else Reason.INVALID_CREDITOR_ACCOUNT_TYPE)
        what = "the bank's omnibus (reserve) account" if account.kind == OMNIBUS else "a ledger book"
        return Rejection(code, f"{role} account {account.account} is {what}: never a payment's "
                               f"{role}")
    if account.is_fx_position and not bank_liquidity:
        code = (Reason.INVALID_DEBTOR_ACCOUNT_TYPE if role == "debtor"
                else Reason.INVALID_CREDITOR_ACCOUNT_TYPE)
        return Rejection(code, f"{role} account {account.account} is the bank's FX position: only a "
                               f"payment across currencies moves it")
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


Decision = TokenOperation | CrossCurrencyPayment | Rejection
"""What translation decides for one transaction."""


def _units(amount: Amount) -> int | Rejection:
    try:
        units = amount.to_minor()
    except AmountOutOfRange as exc:
        return Rejection(Reason.NOT_ALLOWED_AMOUNT, str(exc))
    except CurrencyError as exc:
        return Rejection(Reason.INVALID_AMOUNT, str(exc))
    if units <= 0:
        return Rejection(Reason.ZERO_AMOUNT, f"amount {amount} is not positive")
    return units


def translate(tx: CreditTransfer, header: GroupHeader, lookup: AccountLookup, *, key: str,
              issuer_bic: str | None = None, between_banks: bool = False) -> Decision:
    """The token operation a credit transfer means on this bank's ledger, or why there is none.
    `key` is the transaction's idempotency key (transaction_keys); `issuer_bic` the bank's
    BIC, against which the agent on each registered account's side is checked (none: no check);
    `between_banks` for a pacs.009 (its FX position accounts may then be named, unless it is a
    cover: that moves a customer's payment)."""
    bank_liquidity = between_banks and tx.underlying is None
    amount = _units(tx.amount)
    if isinstance(amount, Rejection):
        return amount
    sides = tx.underlying if tx.underlying is not None else tx  # a cover moves its underlying
    debtor = ours(sides.debtor, sides.debtor_agent, lookup, issuer_bic)
    creditor = ours(sides.creditor, sides.creditor_agent, lookup, issuer_bic)
    if debtor is None and creditor is None:
        return Rejection(Reason.INVALID_CREDITOR_ACCOUNT_NUMBER,
                         "neither the debtor's nor the creditor's account is tokenized at this bank")
    if debtor and creditor and debtor.currency != creditor.currency:
        return _cross_currency(tx, header, debtor, creditor, key, amount, bank_liquidity)
    for account, role in ((debtor, "debtor"), (creditor, "creditor")):
        problem = _unusable(account, role, tx.amount.currency,
                            bank_liquidity=bank_liquidity) if account else None
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
        refs=_refs(tx, header),
    )


def _refs(tx: CreditTransfer, header: GroupHeader) -> PaymentRefs:
    return PaymentRefs(message_id=header.message_id, end_to_end_id=tx.end_to_end_id,
                       transaction_id=tx.transaction_id, uetr=tx.uetr,
                       instruction_id=tx.instruction_id)


def _cross_currency(tx: CreditTransfer, header: GroupHeader, debtor: RegisteredAccount,
                    creditor: RegisteredAccount, key: str, amount: int,
                    bank_liquidity: bool) -> CrossCurrencyPayment | Rejection:
    """A transfer between accounts of different currencies (see the module's rules), unpriced."""
    for account, role in ((debtor, "debtor"), (creditor, "creditor")):
        problem = _unusable(account, role, account.currency, bank_liquidity=bank_liquidity)
        if problem:
            return problem
    if debtor.is_fx_position or creditor.is_fx_position:
        return Rejection(Reason.TRANSACTION_NOT_SUPPORTED, "a payment across currencies from or to an "
                                                          "FX position: the positions are its legs")
    settled, held = tx.amount.currency, (debtor.currency, creditor.currency)
    if settled not in held:
        return Rejection(Reason.NOT_ALLOWED_CURRENCY, f"the payment is in {settled}; the debtor's "
                                                      f"account holds {held[0]}, the creditor's {held[1]}")
    other = creditor.currency if settled == debtor.currency else debtor.currency
    instructed = tx.instructed_amount if tx.instructed_amount and tx.instructed_amount.currency != settled else None
    instructed_units = None
    if instructed is not None:
        if instructed.currency != other:
            return Rejection(Reason.NOT_ALLOWED_CURRENCY, f"InstdAmt is in {instructed.currency}; the "
                                                          f"accounts hold {held[0]} and {held[1]}")
        instructed_units = _units(instructed)
        if isinstance(instructed_units, Rejection):
            return instructed_units
    debit_units = amount if settled == debtor.currency else instructed_units
    credit_units = amount if settled == creditor.currency else instructed_units
    rate = tx.exchange_rate
    if rate is not None and rate <= 0:
        return Rejection(Reason.WRONG_AMOUNT, f"XchgRate {rate} is not positive")
    with localcontext() as context:
        context.prec = PRECISION
        if rate is not None:  # it converts the other currency into the settlement's
            message_rate = rate if settled == creditor.currency else 1 / rate
        elif debit_units is not None and credit_units is not None:  # implied by the two amounts
            message_rate = (Decimal(credit_units).scaleb(-minor_units(creditor.currency))
                            / Decimal(debit_units).scaleb(-minor_units(debtor.currency)))
        else:
            message_rate = None
    return CrossCurrencyPayment(
        key=key, debit_wallet=debtor.wallet, debit_currency=debtor.currency,
        credit_wallet=creditor.wallet, credit_currency=creditor.currency,
        debit_amount=debit_units, credit_amount=credit_units, message_rate=message_rate,
        rate_stated=rate is not None, refs=_refs(tx, header))


def accounts_named(message: CreditTransferMessage) -> list[str]:
    """The registry ids (`AccountId.key`) translating `message` may look up: each transaction's
    debtor's and creditor's accounts (a cover's: its underlying's), in order, each once."""
    named: dict[str, None] = {}
    for tx in message.transactions:
        sides = tx.underlying if tx.underlying is not None else tx
        for party in (sides.debtor, sides.creditor):
            if party.account is not None and (key := party.account.key):
                named[key] = None
    return list(named)


def translate_message(message: CreditTransferMessage, lookup: AccountLookup,
                      issuer_bic: str | None = None) -> list[Decision]:
    """Every transaction of a pacs.008 translated, in order, each with its key (transaction_keys)."""
    keys = transaction_keys(message)
    between_banks = message.message_type.startswith("pacs.009")
    return [translate(tx, message.group_header, lookup, key=key, issuer_bic=issuer_bic,
                      between_banks=between_banks)
            for tx, key in zip(message.transactions, keys, strict=True)]
