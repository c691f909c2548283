"""camt.053 in domain terms: statements, balances and entries.

One shape for every version from camt.053.001.02 to .14; the reader absorbs the differences
(e.g. entry status as `Sts` text up to .06 and `Sts/Cd` or `Sts/Prtry` from .07 on).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bridge.money import Amount
from bridge.parties import AccountId, Agent, Party

CREDIT = "CRDT"
DEBIT = "DBIT"


@dataclass(frozen=True, slots=True)
class Balance:
    """`Bal`: a balance of a type (OPBD, CLBD, ITBD, CLAV, ...) on a date."""

    type: str
    amount: Amount
    credit_debit: str  # CRDT or DBIT
    date: date | None

    @property
    def signed(self) -> Decimal:
        """The balance as a signed number: negative when it is a debit (overdrawn) balance."""
        return self.amount.value if self.credit_debit == CREDIT else -self.amount.value


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """`NtryDtls/TxDtls`: the payment behind (part of) an entry, with its references."""

    amount: Amount | None = None
    message_id: str | None = None
    account_servicer_ref: str | None = None
    instruction_id: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None
    debtor: Party | None = None
    creditor: Party | None = None
    debtor_agent: Agent | None = None
    creditor_agent: Agent | None = None
    remittance: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """`Ntry`: one booked, pending or informational movement on the account."""

    index: int  # 0-based position in its statement
    amount: Amount
    credit_debit: str  # CRDT or DBIT
    status: str  # BOOK, PDNG, INFO, FUTR (or a proprietary code)
    booking_date: date | None = None
    value_date: date | None = None
    entry_ref: str | None = None
    account_servicer_ref: str | None = None
    reversal: bool = False
    bank_transaction_code: str | None = None  # "PMNT/RCDT/ESCT" or the proprietary code
    details: tuple[TransactionDetails, ...] = ()
    booked_at: datetime | None = None  # BookgDt/DtTm where the statement gives the time

    @property
    def signed(self) -> Decimal:
        return self.amount.value if self.credit_debit == CREDIT else -self.amount.value


@dataclass(frozen=True, slots=True)
class EntryTotal:
    """One total of `TxsSummry` as the statement declares it: `NbOfNtries` and `Sum` (of the
    entries' amounts, without sign), each where given."""

    number: int | None = None
    sum: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TransactionsSummary:
    """`TxsSummry`: the totals of all entries (`TtlNtries`), of the credits and of the debits."""

    entries: EntryTotal | None = None
    credits: EntryTotal | None = None
    debits: EntryTotal | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """`Stmt`: one account's statement for a period."""

    statement_id: str
    account: AccountId
    created_at: datetime | None = None
    currency: str | None = None  # Acct/Ccy where given
    owner: str | None = None
    servicer: Agent | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    sequence_number: int | None = None  # ElctrncSeqNb
    balances: tuple[Balance, ...] = ()
    entries: tuple[StatementEntry, ...] = ()
    summary: TransactionsSummary | None = None  # TxsSummry where given

    def balance(self, type_code: str) -> Balance | None:
        """The first balance of a type (OPBD, CLBD, ...), or None."""
        return next((b for b in self.balances if b.type == type_code), None)


@dataclass(frozen=True, slots=True)
class StatementMessage:
    """A whole `BkToCstmrStmt`: one or more statements."""

    message_type: str  # e.g. "camt.053.001.08"
    message_id: str
    created_at: datetime | None
    statements: tuple[Statement, ...] = ()
