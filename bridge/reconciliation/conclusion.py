"""The last step of reconciling one camt.053 statement: pure functions. Once the caller has
applied (or, in a dry run, not applied) what the plan causes, every ledger operation of the
period is classified, the breaks are listed, and the closing booked balance is checked against
the ledger's figure: the token supply for an omnibus account (the 1:1 backing), the wallet's
balance for a wallet's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from bridge.accounts import OMNIBUS
from bridge.reconciliation.entries import BOOKED, Inconsistency, StatementTotals, amount_text, as_utc
from bridge.reconciliation.matching import Movement
from bridge.reconciliation.outcomes import (Break, BreakCategory, EntryOutcome, EntryStatus,
                                            OperationOutcome, ReconciledAccount,
                                            StatementReconciliation)
from bridge.reconciliation.plan import Plan
from bridge.statements import CREDIT, Statement

MAX_SERIES_POINTS = 400
"""Points kept per balance line for the report's chart; enough to draw, small enough to ship."""

_BREAKS = frozenset(BreakCategory)
_TAKEN = (EntryStatus.MATCHED, BreakCategory.MATCHED_WITH_DIFFERENCE, EntryStatus.MINTED,
          EntryStatus.REVERSED)
"""The outcomes of an entry that match it to the ledger operation it names."""
_WOULD = (EntryStatus.WOULD_MINT, EntryStatus.WOULD_REVERSE)
"""A dry run's outcomes: the statement has them, the ledger does not (in flight)."""


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
        if e.movement is not None and e.status in _TAKEN:
            taken.setdefault(e.movement.key, e.item.entry_index)
    operations = []
    breaks = [_entry_break(e, account.currency) for e in entries if e.status in _BREAKS]
    movements = list(plan.index.movements) + list(applied)
    for m in movements:
        in_period = (start is None or m.posted_at >= start) and (end is None or m.posted_at < end)
        if m.key in taken:
            operations.append(OperationOutcome(m, EntryStatus.MATCHED, taken[m.key], in_period))
        elif in_period:
            twin = plan.index.twin_taken(m)
            if twin is not None:
                operations.append(OperationOutcome(m, BreakCategory.DUPLICATE))
                breaks.append(_operation_break(m, BreakCategory.DUPLICATE, f"a second ledger operation "
                                                                          f"for the payment of {twin.key}"))
            else:
                operations.append(OperationOutcome(m, BreakCategory.MISSING_ON_STATEMENT))
                breaks.append(_operation_break(m, BreakCategory.MISSING_ON_STATEMENT,
                                               "no entry of the statement matches this operation"))
    in_flight = sum(m.amount for m in movements if m.key in taken and end is not None and m.posted_at >= end)
    in_flight += sum(e.item.signed for e in entries if e.status in _WOULD)
    if ledger_closing is not None:
        difference = totals.closing - (ledger_closing + in_flight)
        if difference:
            measure = "token supply" if account.kind == OMNIBUS else f"wallet {account.wallet}'s balance"
            breaks.append(Break(
                BreakCategory.BACKING_MISMATCH,
                f"the closing booked balance differs from the {measure} at the statement's end by "
                f"{amount_text(difference, account.currency)}",
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
                                   breaks=(Break(BreakCategory.STATEMENT_INCONSISTENT, problem.reason,
                                                 problem.currency or account.currency,
                                                 figures=problem.figures),))


def _entry_break(outcome: EntryOutcome, currency: str) -> Break:
    item = outcome.item
    category = BreakCategory(outcome.status)
    return Break(category, outcome.reason or category, item.currency or currency,
                 item.entry_index, item.detail_index, item.amount, item.credit, item.refs,
                 outcome.movement.key if outcome.movement else None,
                 (("ledger_amount", abs(outcome.movement.amount)),) if outcome.movement else ())


def _operation_break(movement: Movement, category: BreakCategory, reason: str) -> Break:
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
