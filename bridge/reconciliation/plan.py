"""Reconciliation of one camt.053 statement with the token ledger: pure functions.

    statement + the ledger's movements on the account -> plan (every entry matched, or an
    operation to apply, or a break) -> [the caller applies the operations] -> conclusion
    (every entry and every ledger operation of the period classified, the breaks, the backing)

An **omnibus** statement is the legacy side's truth about the fiat that backs a token:
- a booked credit matches a mint, or mints when its details name a tokenized beneficiary
  account (keys: bridge.reconciliation.statement_mints), or is an unapplied credit; the caller adds to
  the candidates the mints that claimed the entries' payment references
  (`payment_references_of`), whatever their age: one payment, one mint;
- a booked debit matches a burn, or is missing on the ledger (a statement never burns);
- a reversal undoes the operation its entry caused (or cancels the entry it reverses when both
  are on this statement and nothing reached the ledger);
- pending and informational entries produce nothing;
- an item of zero (an entry, or a batch entry's `TxDtls`, of 0.00) is no payment: it is never
  matched nor minted, and shows as a `statement_inconsistent` break;
- the closing booked balance must equal the token supply at the statement's end.
A **wallet** statement is compared with that wallet's journal; it applies nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time

from bridge.accounts import ACTIVE, RegisteredAccount, find_registered
from bridge.reconciliation.matching import AMOUNT, Match, Movement, MovementIndex
from bridge.money import Amount
from bridge.operations import PaymentRefs, TokenOperation
from bridge.parties import AccountId
from bridge.reconciliation.entries import (BOOKED, Inconsistency, StatementItem, StatementTotals, as_utc,
                                    statement_items)
from bridge.reconciliation.statement_mints import (is_reversal, payment_references, statement_mint,
                                         statement_mint_key, undo)
from bridge.statements import CREDIT, Statement

OMNIBUS, WALLET = "omnibus", "wallet"

# What an entry or an operation turned out to be, when it is not a break.
MATCHED = "matched"
MINTED = "minted"  # the statement caused a mint now
REVERSED = "reversed"  # a reversal undid its operation (or cancelled its entry)
PENDING = "pending"  # not booked: produces nothing
WOULD_MINT, WOULD_REVERSE = "would_mint", "would_reverse"  # dry run
PLANNED_MINT, PLANNED_UNDO = "planned_mint", "planned_undo"  # before the caller applies

# Breaks, exactly as INTERFACE.md names them.
MATCHED_WITH_DIFFERENCE = "matched_with_difference"
MISSING_ON_LEDGER = "missing_on_ledger"
MISSING_ON_STATEMENT = "missing_on_statement"
DUPLICATE = "duplicate"
UNAPPLIED_CREDIT = "unapplied_credit"
BACKING_MISMATCH = "backing_mismatch"
STATEMENT_INCONSISTENT = "statement_inconsistent"
BREAK_CATEGORIES = (MATCHED_WITH_DIFFERENCE, MISSING_ON_LEDGER, MISSING_ON_STATEMENT, DUPLICATE,
                    UNAPPLIED_CREDIT, BACKING_MISMATCH, STATEMENT_INCONSISTENT)

AccountLookup = Callable[[str], RegisteredAccount | None]

MAX_SERIES_POINTS = 400
"""Points kept per balance line for the report's chart; enough to draw, small enough to ship."""


@dataclass(frozen=True, slots=True)
class ReconciledAccount:
    """What a statement is of: the omnibus account of a currency, or a registered wallet's."""

    kind: str  # omnibus or wallet
    account: str
    currency: str
    wallet: str | None = None


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What one statement item turned out to be."""

    item: StatementItem
    status: str  # matched, minted, reversed, pending, would_*, or a break category
    movement: Movement | None = None  # the ledger operation it matched (or caused)
    basis: str | None = None  # which reference matched: uetr, end_to_end_id, ...
    operation: TokenOperation | None = None  # the operation it causes (planned or applied)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    """What one ledger operation on the account turned out to be."""

    movement: Movement
    status: str  # matched, missing_on_statement or duplicate
    entry_index: int | None = None
    in_period: bool = True


@dataclass(frozen=True, slots=True)
class Break:
    """A difference someone must look at, with the payment's references where it has them."""

    category: str
    reason: str
    currency: str
    entry_index: int | None = None
    detail_index: int | None = None
    amount: int | None = None  # minor units
    credit: bool | None = None
    refs: PaymentRefs | None = None
    operation_key: str | None = None
    figures: tuple[tuple[str, int], ...] = ()  # named amounts in minor units


@dataclass(frozen=True, slots=True)
class Plan:
    """The first step: every item's outcome, and the operations the statement causes."""

    account: ReconciledAccount
    entries: tuple[EntryOutcome, ...]
    index: MovementIndex

    @property
    def operations(self) -> list[TokenOperation]:
        return [e.operation for e in self.entries
                if e.status in (PLANNED_MINT, PLANNED_UNDO) and e.operation is not None]


@dataclass(frozen=True, slots=True)
class StatementReconciliation:
    """One statement, reconciled."""

    message_id: str
    statement_id: str
    account: ReconciledAccount
    start: datetime | None
    end: datetime | None
    totals: StatementTotals | None  # None when the statement does not add up
    entries: tuple[EntryOutcome, ...] = ()
    operations: tuple[OperationOutcome, ...] = ()
    breaks: tuple[Break, ...] = ()
    ledger_opening: int | None = None  # supply (omnibus) or wallet balance at the start
    ledger_closing: int | None = None  # ... at the end
    in_flight: int = 0  # operations for this statement's entries that the ledger posts after its end
    statement_series: tuple[tuple[datetime, int], ...] = ()
    ledger_series: tuple[tuple[datetime, int], ...] = ()

    @property
    def clean(self) -> bool:
        return not self.breaks

    @property
    def refused(self) -> bool:
        """A statement that does not add up is refused: nothing of it is applied."""
        return self.totals is None


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """Every statement of one camt.053 message (or of several, for a command line run)."""

    statements: tuple[StatementReconciliation, ...]
    generated_at: datetime
    dry_run: bool = False

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.statements)

    @property
    def breaks(self) -> list[Break]:
        return [b for s in self.statements for b in s.breaks]


# -- step 1: plan ------------------------------------------------------------------------------

def plan_statement(statement: Statement, account: ReconciledAccount, movements: Iterable[Movement],
                   lookup: AccountLookup) -> Plan:
    """Match every booked item of a statement that adds up to the ledger's movements on its
    account, and decide what the unmatched ones mean (see the module's rules)."""
    index = MovementIndex(movements)
    items = statement_items(statement)
    outcomes: list[EntryOutcome | None] = [None] * len(items)
    for position, item in enumerate(items):  # references first, for every item
        if not item.booked:
            outcomes[position] = EntryOutcome(item, PENDING, reason=f"entry status {item.status}")
            continue
        if not item.is_payment:  # never matched nor minted: a zero part is no payment
            outcomes[position] = EntryOutcome(item, STATEMENT_INCONSISTENT, reason=(
                f"{_item_name(item)}: an amount of {_major(item.amount, item.currency)} is not a payment"))
            continue
        found = index.find(item, credit=item.credit)
        if found is not None:
            outcomes[position] = _matched(item, found, index, position, _wallet_of(item, account, lookup))
    for position, item in enumerate(items):  # then amounts, for what no reference found
        if outcomes[position] is None and not item.reversal:
            wallet = _wallet_of(item, account, lookup)
            found = index.find_by_amount(item, wallet)
            if found is not None:
                outcomes[position] = _matched(item, found, index, position, wallet)
    planned: dict[str, int] = {}
    for position, item in enumerate(items):
        if outcomes[position] is None and not item.reversal:
            outcomes[position] = _unmatched(item, account, lookup, planned, position)
    for position, item in enumerate(items):  # reversals last: what they reverse is decided
        if outcomes[position] is None:
            outcomes[position] = _reversal(item, position, account, index, items, outcomes, planned)
    return Plan(account, tuple(o for o in outcomes if o is not None), index)


def payment_references_of(statement: Statement, account: ReconciledAccount,
                          lookup: AccountLookup) -> list[str]:
    """The payment references of an omnibus statement's booked credits (none for a wallet
    statement, which never mints): the ledger's claims on them name the mints of those
    payments, whichever road minted them and whenever."""
    if account.kind != OMNIBUS:
        return []
    found: dict[str, None] = {}
    for item in statement_items(statement):
        if item.booked and item.credit and not item.reversal:
            found.update(dict.fromkeys(payment_references(
                item.refs, item.currency, item.amount, _wallet_of(item, account, lookup))))
    return list(found)


def _wallet_of(item: StatementItem, account: ReconciledAccount, lookup: AccountLookup) -> str | None:
    """The wallet on the customer side of an item: the creditor's for a credit on an omnibus
    account, the debtor's for a debit; the wallet itself on a wallet statement."""
    if account.kind == WALLET:
        return account.wallet
    found = _registered_wallet(item.creditor_account if item.credit else item.debtor_account, lookup)
    return found.wallet if found is not None else None


def _registered_wallet(account_id: AccountId | None, lookup: AccountLookup) -> RegisteredAccount | None:
    found = find_registered(account_id, lookup)
    return found if found is not None and found.is_wallet and not found.is_ledger_book else None


def _matched(item: StatementItem, found: Match, index: MovementIndex, position: int,
             wallet: str | None) -> EntryOutcome:
    movement = found.movement
    if found.taken_by is not None:
        return EntryOutcome(item, DUPLICATE, movement, found.basis,
                            reason=f"the ledger operation {movement.key} was already matched by "
                                   f"another entry of this statement ({_entry_name(found.taken_by)})")
    index.take(movement, position)
    differences = []
    if abs(movement.amount) != item.amount or movement.currency != item.currency:
        differences.append(f"the ledger has {_major(abs(movement.amount), movement.currency)}, "
                           f"the entry {_major(item.amount, item.currency)}")
    if wallet and movement.wallet and wallet != movement.wallet and found.basis != AMOUNT:
        differences.append(f"the ledger operation is on wallet {movement.wallet}, the entry names {wallet}")
    if differences:
        return EntryOutcome(item, MATCHED_WITH_DIFFERENCE, movement, found.basis,
                            reason="; ".join(differences))
    return EntryOutcome(item, MATCHED, movement, found.basis)


def _major(units: int, currency: str) -> str:
    return f"{Amount.from_minor(units, currency).value} {currency}"


def _item_name(item: StatementItem) -> str:
    """The entry (and TxDtls) as the statement numbers them, from 1."""
    part = f", TxDtls {item.detail_index + 1}" if item.detail_index is not None else ""
    return f"entry {item.entry_index + 1}{part}"


def _entry_name(position: int) -> str:
    return f"item {position + 1}"


def _unmatched(item: StatementItem, account: ReconciledAccount, lookup: AccountLookup,
               planned: dict[str, int], position: int) -> EntryOutcome:
    if account.kind == WALLET:
        return EntryOutcome(item, MISSING_ON_LEDGER, reason="no posting of this wallet matches the entry")
    if not item.credit:
        return EntryOutcome(item, MISSING_ON_LEDGER,
                            reason="fiat left the omnibus account but no burn on the ledger matches")
    creditor = find_registered(item.creditor_account, lookup)
    problem = (
        "the entry names no creditor account" if item.creditor_account is None else
        f"creditor account {item.creditor_account} is not tokenized here"
        if creditor is None or not creditor.is_wallet or creditor.is_ledger_book else
        f"creditor account {item.creditor_account} is {creditor.status}" if creditor.status != ACTIVE else
        f"creditor account {item.creditor_account} holds {creditor.currency}, not {item.currency}"
        if creditor.currency != item.currency or item.currency != account.currency else None)
    key = statement_mint_key(item.refs)
    if problem is None and key is None:
        problem = ("no UETR, nor MsgId and EndToEndId of the underlying payment: no key to mint it "
                   "under, and a later pacs.008 of it could not be recognised for sure")
    if problem is not None:
        return EntryOutcome(item, UNAPPLIED_CREDIT, reason=problem)
    assert creditor is not None and creditor.wallet is not None and key is not None  # no problem above
    names = (key, *payment_references(item.refs, item.currency, item.amount, creditor.wallet))
    same = next((name for name in names if name in planned), None)
    if same is not None:  # the same key, or a payment reference shared: one payment
        return EntryOutcome(item, DUPLICATE, reason=f"the same payment ({same}) as "
                                                    f"{_entry_name(planned[same])} of this statement")
    planned.update(dict.fromkeys(names, position))
    operation = statement_mint(key, item.currency, item.amount, creditor.wallet, item.refs)
    return EntryOutcome(item, PLANNED_MINT, operation=operation)


def _reversal(item: StatementItem, position: int, account: ReconciledAccount, index: MovementIndex,
              items: Sequence[StatementItem], outcomes: list[EntryOutcome | None],
              planned: dict[str, int]) -> EntryOutcome:
    """A reversal no ledger operation matches: undo the operation it reverses, or cancel the
    entry it reverses on this statement when that one reached no ledger."""
    original = index.find(item, credit=not item.credit)
    if original is not None and account.kind == OMNIBUS and not is_reversal(original.movement.key):
        movement = original.movement
        if abs(movement.amount) != item.amount:
            return EntryOutcome(item, MATCHED_WITH_DIFFERENCE, movement, original.basis,
                                reason=f"the reversal is of {_major(item.amount, item.currency)}, the operation "
                                       f"it reverses of {_major(abs(movement.amount), movement.currency)}")
        operation = undo(movement.operation(), item.amount, item.refs.account_servicer_ref)
        if operation.key in planned:
            return EntryOutcome(item, DUPLICATE, movement, original.basis,
                                reason=f"{_entry_name(planned[operation.key])} of this statement "
                                       f"already reverses {movement.key}")
        planned[operation.key] = position
        return EntryOutcome(item, PLANNED_UNDO, movement, original.basis, operation=operation,
                            reason=f"undoes {movement.key}")
    for other, outcome in enumerate(outcomes):
        o_item = items[other]
        if (outcome is not None and outcome.status in (PLANNED_MINT, UNAPPLIED_CREDIT)
                and o_item.credit != item.credit and not o_item.reversal
                and o_item.amount == item.amount and _same_payment(o_item, item)):
            # Both entries cancel out and nothing reached the ledger: apply neither.
            reason = f"cancelled by its reversal ({_entry_name(position)})"
            outcomes[other] = replace(outcome, status=REVERSED, operation=None, reason=reason)
            return EntryOutcome(item, REVERSED, reason=f"cancels {_entry_name(other)} of this statement")
    return EntryOutcome(item, MISSING_ON_LEDGER,
                        reason="a reversal of an operation that is not on the ledger")


def _same_payment(a: StatementItem, b: StatementItem) -> bool:
    pairs = ((a.refs.uetr, b.refs.uetr), (a.end_to_end_id, b.end_to_end_id),
             (a.refs.account_servicer_ref, b.refs.account_servicer_ref))
    return any(x and y and x == y for x, y in pairs) and all(
        not (x and y) or x == y for x, y in pairs[:2])


# -- step 3: conclude ----------------------------------------------------------------------------

def conclude(message_id: str, statement: Statement, totals: StatementTotals, plan: Plan,
             entries: Sequence[EntryOutcome], *, start: datetime | None, end: datetime | None,
             ledger_opening: int | None, ledger_closing: int | None,
             applied: Iterable[Movement] = ()) -> StatementReconciliation:
    """Classify every ledger operation of the period, list the breaks, and check the balance:
    the omnibus closing booked balance against the token supply at the statement's end (the
    1:1 backing), or a wallet statement's against the wallet's balance.

    `entries` are the plan's, once the caller has applied (or, in a dry run, not applied) its
    operations; `applied` are the movements those operations made. Operations for this
    statement's entries that the ledger posts at or after its end count as in flight: the
    statement already has them, the ledger's figure at the end cannot."""
    account = plan.account
    taken: dict[str, int] = {}
    for e in entries:
        if e.movement is not None and e.status in (MATCHED, MATCHED_WITH_DIFFERENCE, MINTED, REVERSED):
            taken.setdefault(e.movement.key, e.item.entry_index)
    operations = []
    breaks = [_entry_break(e, account.currency) for e in entries if e.status in BREAK_CATEGORIES]
    movements = list(plan.index.movements) + list(applied)
    for m in movements:
        in_period = (start is None or m.posted_at >= start) and (end is None or m.posted_at < end)
        if m.key in taken:
            operations.append(OperationOutcome(m, MATCHED, taken[m.key], in_period))
        elif in_period:
            twin = plan.index.twin_taken(m)
            if twin is not None:
                operations.append(OperationOutcome(m, DUPLICATE))
                breaks.append(_operation_break(m, DUPLICATE, f"a second ledger operation for the "
                                                             f"payment of {twin.key}"))
            else:
                operations.append(OperationOutcome(m, MISSING_ON_STATEMENT))
                breaks.append(_operation_break(m, MISSING_ON_STATEMENT,
                                               "no entry of the statement matches this operation"))
    in_flight = sum(m.amount for m in movements if m.key in taken and end is not None and m.posted_at >= end)
    in_flight += sum(e.item.signed for e in entries if e.status in (WOULD_MINT, WOULD_REVERSE))
    if ledger_closing is not None:
        difference = totals.closing - (ledger_closing + in_flight)
        if difference:
            measure = "token supply" if account.kind == OMNIBUS else f"wallet {account.wallet}'s balance"
            breaks.append(Break(
                BACKING_MISMATCH, f"the closing booked balance differs from the {measure} at the "
                                  f"statement's end by {_major(difference, account.currency)}",
                account.currency,
                figures=(("closing_booked", totals.closing), ("ledger", ledger_closing),
                         ("in_flight", in_flight), ("difference", difference))))
    return StatementReconciliation(
        message_id, statement.statement_id, account, start, end, totals, tuple(entries),
        tuple(operations), tuple(breaks), ledger_opening, ledger_closing, in_flight,
        _statement_series(totals, statement, start, end),
        _ledger_series(ledger_opening, movements, start, end))


def refused(message_id: str, statement: Statement, account: ReconciledAccount,
            problem: Inconsistency, start: datetime | None, end: datetime | None) -> StatementReconciliation:
    """A statement that does not add up: one `statement_inconsistent` break, nothing examined."""
    return StatementReconciliation(message_id, statement.statement_id, account, start, end, None,
                                   breaks=(Break(STATEMENT_INCONSISTENT, problem.reason,
                                                 problem.currency or account.currency,
                                                 figures=problem.figures),))


def dry_run(entries: Iterable[EntryOutcome]) -> list[EntryOutcome]:
    """The plan's outcomes when nothing is applied: planned operations are only shown."""
    shown = {PLANNED_MINT: WOULD_MINT, PLANNED_UNDO: WOULD_REVERSE}
    return [replace(e, status=shown[e.status]) if e.status in shown else e for e in entries]


def _entry_break(outcome: EntryOutcome, currency: str) -> Break:
    item = outcome.item
    return Break(outcome.status, outcome.reason or outcome.status, item.currency or currency,
                 item.entry_index, item.detail_index, item.amount, item.credit, item.refs,
                 outcome.movement.key if outcome.movement else None,
                 (("ledger_amount", abs(outcome.movement.amount)),) if outcome.movement else ())


def _operation_break(movement: Movement, category: str, reason: str) -> Break:
    return Break(category, reason, movement.currency, amount=abs(movement.amount),
                 credit=movement.amount > 0, refs=movement.refs, operation_key=movement.key)


def _statement_series(totals: StatementTotals, statement: Statement, start: datetime | None,
                      end: datetime | None) -> tuple[tuple[datetime, int], ...]:
    """The account's booked balance through the period, from its entries' booking times."""
    if start is None or end is None:
        return ()
    steps = []
    for entry in statement.entries:
        moment = (as_utc(entry.booked_at) if entry.booked_at else
                  as_utc(datetime.combine(entry.booking_date, time(0))) if entry.booking_date else None)
        if entry.status == BOOKED and moment is not None:
            units = entry.amount.to_minor()
            steps.append((moment, units if entry.credit_debit == CREDIT else -units))
    steps.sort(key=lambda s: s[0])
    return _steps(start, end, totals.opening, steps, totals.closing)


def _ledger_series(opening: int | None, movements: Iterable[Movement], start: datetime | None,
                   end: datetime | None) -> tuple[tuple[datetime, int], ...]:
    """The ledger's figure (supply or wallet balance) through the period, from its postings."""
    if opening is None or start is None or end is None:
        return ()
    steps = sorted(((m.posted_at, m.amount) for m in movements if start <= m.posted_at < end),
                   key=lambda s: s[0])
    return _steps(start, end, opening, steps, None)


def _steps(start: datetime, end: datetime, opening: int, steps: list[tuple[datetime, int]],
           closing: int | None) -> tuple[tuple[datetime, int], ...]:
    points = [(start, opening)]
    running = opening
    for moment, change in steps:
        running += change
        points.append((min(max(moment, start), end), running))
    points.append((end, running if closing is None else closing))
    if len(points) > MAX_SERIES_POINTS:  # keep the first, the last, and evenly spaced ones
        stride = len(points) / (MAX_SERIES_POINTS - 1)
        points = [points[int(i * stride)] for i in range(MAX_SERIES_POINTS - 1)] + [points[-1]]
    return tuple(points)
