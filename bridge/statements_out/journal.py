"""camt.053 statements from the ledger journal, as domain objects for
bridge.iso.camt053_writer: a wallet's statement, or the statement of the token supply of a
currency (the token side's mirror of the omnibus account, so it carries the omnibus account's
identification when the registry has one).

- OPBD is the balance (or supply) at the period's start, CLBD at its end;
- one entry per posting, booked at the posting's time, with AcctSvcrRef = the ledger's
  reference of its operation (bridge.reconciliation.statement_mints.ledger_reference), RvslInd
  for an operation that undoes another;
- its details carry the originating references (MsgId, InstrId, EndToEndId, UETR, TxId) and
  the wallets on either side as related parties, with their registered accounts;
- bank transaction codes (ISO external code set, domain PMNT): a mint is a received credit
  transfer (RCDT), a burn an issued one (ICDT), a transfer between wallets a book transfer
  (BOOK), a reversal or a return (pacs.004) RRTN; sub-family OTHR where the rail behind it is not known.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.money import Amount
from bridge.operations import BURN, MINT, TRANSFER
from bridge.accounts import RegisteredAccount
from bridge.parties import PROPRIETARY, AccountId, Agent, Party
from bridge.ports import Posting, issuance_holder
from bridge.reconciliation.statement_mints import is_reversal, ledger_reference
from bridge.returns.reversal import RETURN_KEY_PREFIX
from bridge.statements import (CREDIT, DEBIT, Balance, Statement, StatementEntry, StatementMessage,
                               TransactionDetails)

SUPPLY_SCHEME = "TOKENBRIDGE"
"""Scheme of the account id a supply statement carries when no omnibus account is registered."""

_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


@dataclass(frozen=True, slots=True)
class StatementSubject:
    """Whose statement: a wallet (with its registered account) or the supply of a currency."""

    account: AccountId
    currency: str
    wallet: str | None = None  # None: the token supply of `currency`

    @property
    def is_supply(self) -> bool:
        return self.wallet is None


def account_id(account: str | RegisteredAccount) -> AccountId:
    """A registry account as an ISO account identification: an `Othr/Id` with the registered
    scheme and issuer (bridge.accounts.find_registered reads it back to the same row); without
    them, IBAN-shaped ids as IBAN, any other as a bare `Othr/Id`."""
    found = account if isinstance(account, RegisteredAccount) else None
    text = found.account if found else str(account)
    if found and (found.scheme or found.issuer):
        kind, _, name = (found.scheme or "").partition(":")
        return AccountId(other=text, scheme=name or None, proprietary=kind == PROPRIETARY,
                         issuer=found.issuer)
    compact = text.replace(" ", "").upper()
    return AccountId(iban=compact) if _IBAN.fullmatch(compact) else AccountId(other=text)


def supply_subject(currency: str, omnibus_account: str | RegisteredAccount | None) -> StatementSubject:
    """The supply statement's subject: the omnibus account of the currency, else a
    `TOKENBRIDGE-SUPPLY-<CCY>` id in the `TOKENBRIDGE` scheme."""
    if omnibus_account:
        return StatementSubject(account_id(omnibus_account), currency)
    return StatementSubject(AccountId(other=f"TOKENBRIDGE-SUPPLY-{currency}", scheme=SUPPLY_SCHEME,
                                      proprietary=True), currency)


def journal_statement(subject: StatementSubject, postings: Iterable[Posting], *, opening: int,
                      closing: int, start: datetime, end: datetime, message_id: str,
                      created_at: datetime,
                      accounts_by_wallet: Mapping[str, str | RegisteredAccount] | None = None,
                      servicer_bic: str | None = None, interim: bool = False) -> StatementMessage:
    """A camt.053 of `subject` for [start, end) from its postings (a wallet's own postings, or
    for the supply every wallet's postings with the issuance account, which are kept);
    `opening` and `closing` are the balance or supply at start and end, in minor units.
    `interim`: a camt.052 intraday report instead, up to `end` (now): its last balance is the
    interim booked one (ITBD) at `end`, which is also its ToDtTm."""
    accounts = accounts_by_wallet or {}
    currency = subject.currency
    issuance = issuance_holder(currency)
    chosen = [p for p in postings if p.currency == currency and start <= p.posted_at < end
              and (p.holder == subject.wallet if subject.wallet else p.counterparty == issuance)]
    last = end if interim else end - timedelta(seconds=1)  # a statement's ToDtTm: the last second
    statement_id = (f"TB-{'SUP' if subject.is_supply else 'WAL'}-{currency}-"
                    f"{start:%Y%m%d}-{last:%Y%m%d}-{message_id[-8:]}")
    statement = Statement(
        statement_id=statement_id[:35], account=subject.account, created_at=created_at,
        currency=currency, servicer=Agent(bic=servicer_bic) if servicer_bic else None,
        from_time=start, to_time=last,
        balances=(_balance("OPBD", opening, currency, start),
                  _balance("ITBD" if interim else "CLBD", closing, currency, last)),
        entries=tuple(posting_entry(i, p, accounts, entry_ref=str(p.sequence))
                      for i, p in enumerate(chosen)))
    return StatementMessage("camt.052" if interim else "camt.053", message_id, created_at, (statement,))


def _balance(kind: str, units: int, currency: str, moment: datetime) -> Balance:
    return Balance(kind, Amount.from_minor(abs(units), currency), CREDIT if units >= 0 else DEBIT,
                   moment.date())


def posting_entry(index: int, posting: Posting, accounts: Mapping[str, str | RegisteredAccount],
                  *, entry_ref: str | None = None) -> StatementEntry:
    """One posting as a booked entry of its holder's account: the ledger's reference of its
    operation as AcctSvcrRef, the payment's references, the wallets on either side (named with
    their registered accounts in `accounts`), the bank transaction code. Statements, reports
    and notifications all book an operation so."""
    credit = posting.amount > 0
    issuance = issuance_holder(posting.currency)
    amount = Amount.from_minor(abs(posting.amount), posting.currency)
    me = _party(posting.holder, accounts)
    other = None if posting.counterparty == issuance else _party(posting.counterparty, accounts)
    refs = posting.refs
    reference = ledger_reference(posting.operation_key)
    return StatementEntry(
        index=index, amount=amount, credit_debit=CREDIT if credit else DEBIT, status="BOOK",
        booking_date=posting.posted_at.date(), value_date=posting.posted_at.date(),
        booked_at=posting.posted_at, entry_ref=entry_ref, account_servicer_ref=reference,
        reversal=is_reversal(posting.operation_key),
        bank_transaction_code=bank_transaction_code(posting, credit),
        details=(TransactionDetails(
            amount=amount, message_id=refs.message_id, account_servicer_ref=reference,
            instruction_id=refs.instruction_id, end_to_end_id=refs.end_to_end_id,
            transaction_id=refs.transaction_id, uetr=refs.uetr,
            debtor=other if credit else me, creditor=me if credit else other),))


def _party(wallet: str, accounts: Mapping[str, str | RegisteredAccount]) -> Party:
    account = accounts.get(wallet)
    return Party(name=wallet, account=account_id(account) if account else None)


def bank_transaction_code(posting: Posting, credit: bool) -> str:
    """PMNT / RCDT (tokens in) or ICDT (tokens out) / BOOK, RRTN or OTHR. A statement's
    reversal and a payment's return (pacs.004, `tokenbridge return`) are both RRTN, in the
    family of the credit transfer they give back."""
    undoes = is_reversal(posting.operation_key) or posting.operation_key.startswith(RETURN_KEY_PREFIX)
    if posting.kind == TRANSFER:
        family = "RCDT" if credit else "ICDT"
    else:  # a mint brings tokens in, a burn takes them out
        family = {MINT: "RCDT", BURN: "ICDT"}[posting.kind]
    if undoes:  # undoing one is a return of the other
        family = "ICDT" if family == "RCDT" else "RCDT"
        return f"PMNT/{family}/RRTN"
    return f"PMNT/{family}/{'BOOK' if posting.kind == TRANSFER else 'OTHR'}"
