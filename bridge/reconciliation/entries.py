"""A camt.053 statement as reconciliation sees it: its period, whether it adds up, and its
entries flattened to items (one per payment: an entry, or each `TxDtls` of a batch entry).

Pure functions over bridge.statements (camt.053 as domain objects); amounts become integer
minor units here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from bridge.money import Amount, CurrencyError
from bridge.operations import PaymentRefs
from bridge.parties import AccountId
from bridge.statements import CREDIT, EntryTotal, Statement, StatementEntry, TransactionDetails

BOOKED = "BOOK"
OPENING_TYPES = ("OPBD", "PRCD")  # opening booked; else the previous day's closing booked
CLOSING_TYPE = "CLBD"
NOT_PROVIDED = "NOTPROVIDED"  # an EndToEndId that identifies nothing


@dataclass(frozen=True, slots=True)
class StatementItem:
    """One payment on a statement: a whole entry, or one `TxDtls` of a batch-booked entry."""

    entry_index: int
    detail_index: int | None  # None: the entry as a whole
    amount: int  # minor units, positive
    currency: str
    credit: bool  # CRDT on the account (fiat arrived, for an omnibus account)
    status: str  # BOOK, PDNG, INFO, ...
    reversal: bool
    refs: PaymentRefs  # AcctSvcrRef: the transaction's, else the entry's
    creditor_account: AccountId | None = None  # looked up with bridge.accounts.find_registered
    debtor_account: AccountId | None = None
    booked_at: datetime | None = None

    @property
    def booked(self) -> bool:
        return self.status == BOOKED

    @property
    def is_payment(self) -> bool:
        """An amount of zero moves no money: it is not a payment to match or apply."""
        return self.amount > 0

    @property
    def signed(self) -> int:
        return self.amount if self.credit else -self.amount

    @property
    def end_to_end_id(self) -> str | None:
        """The EndToEndId when it identifies something (not NOTPROVIDED)."""
        e2e = self.refs.end_to_end_id
        return e2e if e2e and e2e.upper() != NOT_PROVIDED else None


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """The booked figures of a statement that adds up, in minor units."""

    currency: str
    opening: int  # signed
    credits: int
    debits: int
    closing: int  # signed


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """Why a statement does not add up (or cannot be checked)."""

    reason: str
    figures: tuple[tuple[str, int], ...] = ()  # of balances that do not add up: the sum done
    currency: str | None = None

    @property
    def balances_do_not_add_up(self) -> bool:
        """Opening + entries != closing (not: cannot be checked, other currencies, ...)."""
        return bool(self.figures)


@dataclass(frozen=True, slots=True)
class SummaryMismatch:
    """A `TxsSummry` total that is not what the entries hold."""

    element: str  # under TxsSummry: "TtlCdtNtries/NbOfNtries"
    is_count: bool  # NbOfNtries (else Sum)
    reason: str


def as_utc(moment: datetime) -> datetime:
    """A statement time in UTC; a time without an offset is taken to be UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def statement_period(statement: Statement) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the statement, in UTC. `FrToDt` where given: `ToDtTm` is the period's
    last instant to the second (`23:59:59`), so the period ends one second later. Else the
    opening balance's date from midnight to the day after the closing balance's date."""
    start = end = None
    if statement.from_time is not None:
        start = as_utc(statement.from_time)
    if statement.to_time is not None:
        end = as_utc(statement.to_time).replace(microsecond=0) + timedelta(seconds=1)
    opening = next((b for t in OPENING_TYPES if (b := statement.balance(t)) is not None), None)
    closing = statement.balance(CLOSING_TYPE)
    if start is None and opening is not None and opening.date is not None:
        start = _midnight(opening.date)
    if end is None and closing is not None and closing.date is not None:
        end = _midnight(closing.date + timedelta(days=1))
    return start, end


def statement_totals(statement: Statement, currency: str | None = None) -> StatementTotals | Inconsistency:
    """Opening booked + booked credits - booked debits must equal closing booked, all in one
    currency (the account's, when given). Pending and informational entries do not count.
    The `TxsSummry` totals, where given, must be what the entries hold (summary_mismatches)."""
    opening = next((b for t in OPENING_TYPES if (b := statement.balance(t)) is not None), None)
    closing = statement.balance(CLOSING_TYPE)
    if opening is None or closing is None:
        missing = " and ".join(n for n, b in (("an opening booked balance (OPBD or PRCD)", opening),
                                              ("a closing booked balance (CLBD)", closing)) if b is None)
        return Inconsistency(f"the statement has no {missing}: it cannot be checked")
    currency = currency or statement.currency or closing.amount.currency
    booked = [e for e in statement.entries if e.status == BOOKED]
    others = sorted({a.currency for a in [opening.amount, closing.amount] + [e.amount for e in booked]}
                    - {currency})
    if others:
        return Inconsistency(f"amounts in {', '.join(others)} on a statement of a {currency} account",
                             currency=currency)
    try:
        opening_units = _signed_minor(opening.amount, opening.credit_debit)
        closing_units = _signed_minor(closing.amount, closing.credit_debit)
        credits = sum(e.amount.to_minor() for e in booked if e.credit_debit == CREDIT)
        debits = sum(e.amount.to_minor() for e in booked if e.credit_debit != CREDIT)
    except CurrencyError as exc:
        return Inconsistency(str(exc), currency=currency)
    unsplittable = next((problem for e in booked if (problem := _split_problem(e))), None)
    if unsplittable is not None:
        return Inconsistency(unsplittable, currency=currency)
    expected = opening_units + credits - debits
    if expected != closing_units:
        return Inconsistency(
            f"opening booked + credits - debits = {amount_text(expected, currency)}, but closing booked is "
            f"{amount_text(closing_units, currency)}",
            (("opening_booked", opening_units), ("credits", credits), ("debits", debits),
             ("expected_closing", expected), ("closing_booked", closing_units),
             ("difference", closing_units - expected)), currency)
    mismatches = summary_mismatches(statement)
    if mismatches:
        return Inconsistency("; ".join(m.reason for m in mismatches), currency=currency)
    return StatementTotals(currency, opening_units, credits, debits, closing_units)


def summary_mismatches(statement: Statement) -> list[SummaryMismatch]:
    """Every `TxsSummry` total (all entries, credits, debits: `NbOfNtries` and `Sum` of the
    amounts without sign) that is not what the statement's entries hold, whatever their status."""
    summary = statement.summary
    if summary is None:
        return []
    mismatches = []
    sides = (("TtlNtries", summary.entries, statement.entries),
             ("TtlCdtNtries", summary.credits, [e for e in statement.entries if e.credit_debit == CREDIT]),
             ("TtlDbtNtries", summary.debits, [e for e in statement.entries if e.credit_debit != CREDIT]))
    for name, declared, entries in sides:
        mismatches.extend(_total_mismatches(name, declared, entries))
    return mismatches


def _total_mismatches(name: str, declared: EntryTotal | None,
                      entries: list[StatementEntry]) -> list[SummaryMismatch]:
    if declared is None:
        return []
    found = []
    if declared.number is not None and declared.number != len(entries):
        found.append(SummaryMismatch(f"{name}/NbOfNtries", True, f"TxsSummry/{name}/NbOfNtries says "
                                     f"{declared.number}, the statement holds {len(entries)}"))
    total = sum((e.amount.value for e in entries), start=Decimal(0))
    if declared.sum is not None and declared.sum != total:
        found.append(SummaryMismatch(f"{name}/Sum", False, f"TxsSummry/{name}/Sum says "
                                     f"{declared.sum}, the entries add up to {total}"))
    return found


def statement_items(statement: Statement) -> list[StatementItem]:
    """Every payment on the statement, in entry order. An entry with several `TxDtls`, each
    with its own amount adding up to the entry's, is several payments (batch booking); any
    other entry is one, with the references of its first `TxDtls`. An item may be of zero
    (`is_payment` False): reconciliation shows it as a break, never as an operation."""
    items: list[StatementItem] = []
    for entry in statement.entries:
        details = entry.details
        if len(details) > 1 and _batch_adds_up(entry) and _split_problem(entry) is None:
            items.extend(_item(entry, i, d, d.amount or entry.amount) for i, d in enumerate(details))
        else:
            items.append(_item(entry, None, details[0] if details else None, entry.amount))
    return items


def _batch_adds_up(entry: StatementEntry) -> bool:
    amounts = [d.amount for d in entry.details]
    if any(a is None or a.currency != entry.amount.currency for a in amounts):
        return False
    return sum(a.value for a in amounts) == entry.amount.value  # type: ignore[union-attr]


def _split_problem(entry: StatementEntry) -> str | None:
    """Why a batch entry whose parts add up cannot be split into payments: a part with more
    decimals than the currency has (no exact minor units, so no operation could carry it)."""
    if len(entry.details) < 2 or not _batch_adds_up(entry):
        return None
    for number, detail in enumerate(entry.details, start=1):
        try:
            detail.amount.to_minor()  # type: ignore[union-attr]
        except CurrencyError as exc:
            return (f"entry {entry.index + 1}, TxDtls {number}: {exc}, so the entry cannot be "
                    "split into its payments")
    return None


def _item(entry: StatementEntry, detail_index: int | None, details: TransactionDetails | None,
          amount: Amount) -> StatementItem:
    d = details or TransactionDetails()
    moment = None
    if entry.booked_at is not None:
        moment = as_utc(entry.booked_at)
    elif entry.booking_date is not None:
        moment = _midnight(entry.booking_date)
    return StatementItem(
        entry_index=entry.index, detail_index=detail_index, amount=_minor_or_zero(amount),
        currency=amount.currency, credit=entry.credit_debit == CREDIT, status=entry.status,
        reversal=entry.reversal,
        refs=PaymentRefs(message_id=d.message_id, end_to_end_id=d.end_to_end_id,
                         transaction_id=d.transaction_id, uetr=d.uetr.lower() if d.uetr else None,
                         instruction_id=d.instruction_id,
                         account_servicer_ref=d.account_servicer_ref or entry.account_servicer_ref),
        creditor_account=_account_key(d.creditor), debtor_account=_account_key(d.debtor),
        booked_at=moment)


def _account_key(party) -> AccountId | None:
    account = party.account if party is not None else None
    return account if account is not None and account.key else None


def _minor_or_zero(amount: Amount) -> int:
    try:
        return amount.to_minor()
    except CurrencyError:  # the reader's business rules refuse such a statement before this
        return 0


def _signed_minor(amount: Amount, credit_debit: str) -> int:
    units = amount.to_minor()
    return units if credit_debit == CREDIT else -units


def amount_text(units: int, currency: str) -> str:
    """Minor units as people read them in a reason: 125050, EUR -> "1250.50 EUR"."""
    return f"{Amount.from_minor(units, currency).value} {currency}"
