"""A sweep run: every rule's members brought to their targets against their headers, each
member's sweep in a unit of work of its own (a run interrupted between two units leaves the done
ones done; the next run does the rest, and never a sweep twice: its key is rule + member +
period, bridge.sweeps.planning).

Excesses go to the headers first, then top-ups are paid, so that a header pays top-ups out of
what its members swept in the same run. A header in another currency than a member's settles
payment versus payment (bridge.fx.settle_pvp: both legs through the bank's FX positions, or
neither). Each sweep is a transfer like any other: notified with camt.054 (bridge.notifications).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bridge.accounts import ACTIVE, RegisteredAccount
from bridge.codes import Reason
from bridge.fx.exchange import CrossCurrencyPayment
from bridge.fx.rates import RateTable
from bridge.fx.settlement import PLANNED, settle_pvp
from bridge.notifications.notices import Notifications, notified
from bridge.operations import TRANSFER, PaymentRefs, TokenOperation
from bridge.ports import APPLIED, AccountRegistry, LedgerOutcome, UnitOfWork
from bridge.sweeps.planning import (Direction, Move, Wallet, crossing_period, daily_period, day_start,
                                    local_date, move_of, sweep_key)
from bridge.sweeps.rules import SweepRule

DONE = "done"  # the period's sweep was applied before (this run or another worker's)
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One member's sweep in a run: applied, planned (dry run), done before, or refused."""

    rule: str
    member: str
    header: str
    period: str | None
    key: str | None
    result: str  # applied, planned, done, refused
    direction: Direction | None = None
    currency: str | None = None
    amount: int | None = None  # the member's side, minor units
    header_currency: str | None = None
    header_amount: int | None = None  # the header's side (differs across currencies)
    reason: str | None = None  # ISO reason of a refusal
    info: str | None = None


@dataclass(slots=True)
class SweepRun:
    """What one run did, member by member, in order."""

    at: datetime
    dry_run: bool
    results: list[SweepResult] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)


@dataclass(frozen=True, slots=True)
class SweepContext:
    """What a run needs besides the store: the bank's time zone, its rates, its notices."""

    timezone: str = "UTC"
    rates: RateTable = field(default_factory=RateTable)
    rate_tolerance_bps: int = 50
    notifications: Notifications | None = None


@dataclass(frozen=True, slots=True)
class _Group:
    """A rule as the registry knows it: the header's and each member's currency."""

    rule: SweepRule
    header: Wallet
    members: tuple[Wallet, ...]


def run_sweeps(unit_of_work: Callable[[], UnitOfWork], rules: Sequence[SweepRule], now: datetime,
               context: SweepContext, *, dry_run: bool = False, ahead: bool = False) -> SweepRun:
    """Run every rule once at `now` (see the module). Refusals change nothing and are listed.
    With `ahead`, a daily rule sweeps today's period even before its time has come (an
    operator's `sweep --now`; the scheduler will find it done)."""
    run = SweepRun(now, dry_run)
    with unit_of_work() as uow:
        groups, refused = _groups(rules, uow.accounts)
    run.results.extend(refused)
    for direction in (Direction.TO_HEADER, Direction.TOP_UP):
        for group in groups:
            for member in group.members:
                with unit_of_work() as uow:
                    with notified(uow, None if dry_run else context.notifications, lambda: now):
                        result = _sweep(uow, group, member, direction, now, context, dry_run, ahead)
                    if result is not None and result.result == APPLIED:
                        uow.commit()
                if result is not None and (direction == Direction.TO_HEADER or result.result != DONE):
                    run.results.append(result)
    return run


def _groups(rules: Sequence[SweepRule],
            accounts: AccountRegistry) -> tuple[list[_Group], list[SweepResult]]:
    """Each rule's wallets found in the registry, or the rule refused: every wallet registered,
    active, a customer's wallet of one currency, all of one customer (the registry's group)."""
    by_wallet: dict[str, list[RegisteredAccount]] = {}
    for account in accounts.all():
        if account.wallet:
            by_wallet.setdefault(account.wallet, []).append(account)
    groups, refused = [], []
    for rule in rules:
        problem, found = None, []
        for wallet in (rule.header, *rule.members):
            rows = by_wallet.get(wallet, [])
            if len(rows) != 1 or not rows[0].is_wallet or rows[0].status != ACTIVE:
                problem = (Reason.INCORRECT_ACCOUNT_NUMBER, f"{wallet} is not one active registered "
                                                            "customer wallet")
                break
            found.append(rows[0])
        if problem is None and (not found[0].group or {a.group for a in found} != {found[0].group}):
            problem = (Reason.TRANSACTION_FORBIDDEN, "the header and members are not all of one "
                                                     "customer (the registry's group)")
        if problem is not None:
            refused.append(SweepResult(rule.name, "*", rule.header, None, None, REFUSED,
                                       reason=problem[0], info=problem[1]))
            continue
        wallets = [Wallet(a.wallet, a.currency) for a in found]  # type: ignore[arg-type]
        groups.append(_Group(rule, wallets[0], tuple(wallets[1:])))
    return groups, refused


def _sweep(uow: UnitOfWork, group: _Group, member: Wallet, direction: Direction, now: datetime,
           context: SweepContext, dry_run: bool, ahead: bool) -> SweepResult | None:
    """One member's sweep in `uow` when it goes `direction` this period; None when it has
    nothing to do. Applied or refused, never half: the caller commits an applied one."""
    rule, header, ledger = group.rule, group.header, uow.ledger
    period = _period(uow, rule, member, now, context.timezone, ahead)
    if period is None:
        return None
    key = sweep_key(rule.name, member.wallet, period)
    result = SweepResult(rule.name, member.wallet, header.wallet, period, key, DONE,
                         currency=member.currency, header_currency=header.currency)
    recorded = ledger.find(key)
    if recorded is not None:
        return _with(result, recorded.operation.amount, None, None)
    balance = next((b for b in ledger.balances() if (b.wallet, b.currency) == (member.wallet, member.currency)),
                   None)
    try:
        move = move_of(rule, member.currency, balance.balance if balance else 0,
                       balance.available if balance else 0)
    except ValueError as error:
        return _with(result, None, Reason.INVALID_AMOUNT, str(error), REFUSED)
    if move is None or move.direction != direction:
        return None
    result = _with(result, move.amount, None, None, direction=move.direction)
    refs = _refs(key)
    if member.currency == header.currency:
        if dry_run:
            return _with(result, move.amount, None, None, PLANNED, header_amount=move.amount)
        debit, credit = ((member, header) if move.direction == Direction.TO_HEADER else (header, member))
        outcome = ledger.apply(TokenOperation(key, TRANSFER, member.currency, move.amount, debit.wallet,
                                              credit.wallet, refs))
        return _outcome(result, outcome, move.amount)
    payment = _across(key, member, header, move, refs)
    settled = settle_pvp(ledger, payment, context.rates, context.rate_tolerance_bps, now,
                         uow.accounts.fx_positions(), dry_run=dry_run)
    header_amount = None
    if settled.exchange is not None:
        header_amount = (settled.exchange.legs[1].amount if move.direction == Direction.TO_HEADER
                         else settled.exchange.legs[0].amount)
    if settled.outcome.result == PLANNED:
        return _with(result, move.amount, None, None, PLANNED, header_amount=header_amount)
    return _outcome(result, settled.outcome, header_amount, info=settled.info)


def _period(uow: UnitOfWork, rule: SweepRule, member: Wallet, now: datetime, timezone: str,
            ahead: bool) -> str | None:
    today = local_date(now, timezone)
    if rule.at is not None:
        return today.isoformat() if ahead else daily_period(rule.at, now, timezone)
    moved = uow.ledger.journal(wallet=member.wallet, currency=member.currency,
                               start=day_start(today, timezone))
    return crossing_period(today, moved[-1].sequence if moved else None)


def _across(key: str, member: Wallet, header: Wallet, move: Move, refs: PaymentRefs) -> CrossCurrencyPayment:
    """The member's side is fixed (its excess, or the top-up it needs); the header's converts."""
    if move.direction == Direction.TO_HEADER:
        return CrossCurrencyPayment(key, member.wallet, member.currency, header.wallet, header.currency,
                                    debit_amount=move.amount, refs=refs)
    return CrossCurrencyPayment(key, header.wallet, header.currency, member.wallet, member.currency,
                                credit_amount=move.amount, refs=refs)


def _refs(key: str) -> PaymentRefs:
    """A sweep's references (Max35Text in the camt.054): one id from its key."""
    reference = "SWEEP-" + hashlib.sha256(key.encode()).hexdigest()[:29]
    return PaymentRefs(message_id=reference, end_to_end_id=reference, instruction_id=reference)


def _outcome(result: SweepResult, outcome: LedgerOutcome, header_amount: int | None,
             info: str | None = None) -> SweepResult:
    if outcome.rejection is not None:
        return _with(result, result.amount, outcome.rejection.reason, outcome.rejection.info, REFUSED)
    # REPLAYED: another worker applied the same key since this one looked.
    return _with(result, result.amount, None, info, APPLIED if outcome.result == APPLIED else DONE,
                 header_amount=header_amount)


def _with(result: SweepResult, amount: int | None, reason: str | None, info: str | None,
          state: str | None = None, **changes: object) -> SweepResult:
    return replace(result, amount=amount, reason=reason, info=info,
                   result=state or result.result, **changes)

