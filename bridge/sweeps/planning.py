"""What a sweep rule asks of one member now (pure): its period, the sweep's key, which way and
how much.

A sweep's key is made of the rule, the member and the period, so that it applies once per
period whoever runs it (two workers, a restart): for a rule run `at` a time, the period is the
local date, once `at` has passed there; for a `threshold` rule, it is the crossing: the local date
and the last posting that moved the member's wallet that day (the state that crossed). Two
workers reading the same state make the same key; a sweep makes a new posting, so the next
crossing has a new key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from bridge.money import minor_units
from bridge.sweeps.rules import SweepRule

KEY_PREFIX = "sweep:"
KEY_MAX = 97
"""Operations' keys hold 100 characters; a PvP credit leg adds `/fx` to its payment's key."""


class Direction(StrEnum):
    TO_HEADER = "to_header"  # the member's excess over its target goes to the header
    TOP_UP = "top_up"  # the header brings a member below its target (or floor) back to it


@dataclass(frozen=True, slots=True)
class Wallet:
    """A wallet a rule names, as the registry knows it."""

    wallet: str
    currency: str


@dataclass(frozen=True, slots=True)
class Move:
    """Which way one member's sweep goes and how much, in the member's minor units."""

    direction: Direction
    amount: int


def day_start(day: date, timezone: str) -> datetime:
    """Midnight of `day` in the bank's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def local_date(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def daily_period(at: time, now: datetime, timezone: str) -> str | None:
    """The period of a daily rule: today's local date once its time has come (a worker down at
    that time sweeps when it comes back that day), else None: not due. No catch-up of a day
    missed altogether: what a member holds then is tomorrow's to sweep, under tomorrow's key
    (a missed period swept the next morning would take that morning's money under its key)."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date().isoformat() if local.time().replace(tzinfo=None) >= at else None


def crossing_period(day: date, last_posting: int | None) -> str:
    """The period of a threshold crossing: the local date and the wallet's last posting that
    day (0: none yet today, the balance is the one carried in)."""
    return f"{day.isoformat()}+{last_posting or 0}"


def sweep_key(rule: str, member: str, period: str) -> str:
    """The idempotency key of one member's sweep in one period (a long wallet name is hashed)."""
    key = f"{KEY_PREFIX}{rule}:{member}:{period}"
    if len(key) <= KEY_MAX:
        return key
    return f"{KEY_PREFIX}{rule}:{hashlib.sha256(member.encode()).hexdigest()[:16]}:{period}"


def units(value: Decimal, currency: str) -> int:
    """A rule's amount in a currency's minor units (more decimals than it has: refused)."""
    exponent = minor_units(currency)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more decimals than {currency} ({exponent})")
    return int(scaled)


def move_of(rule: SweepRule, currency: str, balance: int, available: int) -> Move | None:
    """What `rule` asks of a member holding `balance` (of which `available` is not held):
    its excess over the target to the header; a top-up to the target when it is below the
    floor (without one: below the target). A threshold rule acts only beyond the threshold.
    Held tokens are never swept. None: nothing to do."""
    target = units(rule.target, currency)
    slack = units(rule.threshold, currency) if rule.threshold is not None else 0
    excess = balance - target
    if excess > slack:
        amount = min(excess, available)
        return Move(Direction.TO_HEADER, amount) if amount > 0 else None
    below = units(rule.floor, currency) if rule.floor is not None else target
    if excess < 0 and -excess > slack and balance < below:
        return Move(Direction.TOP_UP, -excess)
    return None
