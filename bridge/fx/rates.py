"""The bank's FX rate table (`TOKENBRIDGE_RATES`): currency pairs, their rates, validity and spread.

CSV with the header `base,quote,rate,valid_from,valid_until` and an optional `spread_bps`: one unit
of `base` buys `rate` units of `quote` between `valid_from` (included) and `valid_until`
(excluded), ISO 8601 times with an offset. The spread is the bank's margin, taken against the
customer: a customer converting `base` into `quote` gets `rate * (1 - spread_bps / 10000)`.
The reverse pair is derived when the table has no row of its own for it: `1 / rate`, less the
same spread. Which row holds is decided by a clock the caller passes (`RateTable.quote`), so
validity is tested without waiting.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext

from bridge.money import CurrencyError, minor_units

HEADER = ("base", "quote", "rate", "valid_from", "valid_until")
"""Mandatory columns; `spread_bps` is optional."""

PRECISION = 34
"""Significant digits of rate arithmetic (decimal128): far beyond any quoted rate, so a derived
reverse rate and a conversion are exact to well below a minor unit."""

BASIS_POINTS = Decimal(10_000)


class RateTableError(ValueError):
    """Rows of a rate table that cannot be used; names every bad row (none is used)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Rate:
    """One row: one unit of `base` buys `rate` units of `quote` in [valid_from, valid_until)."""

    base: str
    quote: str
    rate: Decimal  # the mid rate, as the table says it
    valid_from: datetime
    valid_until: datetime
    spread_bps: Decimal = Decimal(0)

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until


@dataclass(frozen=True, slots=True)
class Quote:
    """The rate a payment converting `base` into `quote` gets now: `rate` (the spread taken)
    units of `quote` per unit of `base`; `derived` when it is the reverse of the table's row."""

    base: str
    quote: str
    rate: Decimal
    row: Rate
    derived: bool = False


class RateTable:
    """The rows of a rate table; `quote` finds the rate of a pair at a moment."""

    def __init__(self, rows: Iterable[Rate] = ()) -> None:
        self.rows = tuple(rows)
        self._by_pair: dict[tuple[str, str], list[Rate]] = {}
        for row in self.rows:
            self._by_pair.setdefault((row.base, row.quote), []).append(row)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def quote(self, base: str, quote: str, moment: datetime) -> Quote | None:
        """The rate for converting `base` into `quote` at `moment`: the table's own row of the
        pair valid then (the latest `valid_from` of several), else the reverse of the reverse
        pair's; None when neither is valid then (an expired or missing pair)."""
        direct = self._valid(base, quote, moment)
        if direct is not None:
            return Quote(base, quote, _less_spread(direct.rate, direct.spread_bps), direct)
        reverse = self._valid(quote, base, moment)
        if reverse is None:
            return None
        with localcontext() as context:
            context.prec = PRECISION
            inverse = Decimal(1) / reverse.rate
        return Quote(base, quote, _less_spread(inverse, reverse.spread_bps), reverse, derived=True)

    def _valid(self, base: str, quote: str, moment: datetime) -> Rate | None:
        valid = [r for r in self._by_pair.get((base, quote), ()) if r.valid_at(moment)]
        return max(valid, key=lambda r: r.valid_from) if valid else None


def _less_spread(rate: Decimal, spread_bps: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = PRECISION
        return rate * (1 - spread_bps / BASIS_POINTS)


def parse_rate_rows(rows: Iterable[Mapping[str, str | None]]) -> RateTable:
    """Validate CSV-like rows (line 1 is the header): currencies active ISO 4217 codes, two
    different ones; a positive rate; times ISO 8601 with an offset, `valid_from` before
    `valid_until`; a spread from 0 to 10000 basis points. All or nothing: raises RateTableError
    naming every bad row."""
    rates: list[Rate] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        errors: list[str] = []
        base = (row.get("base") or "").strip().upper()
        quote = (row.get("quote") or "").strip().upper()
        for code in (base, quote):
            try:
                minor_units(code)
            except CurrencyError as exc:
                errors.append(str(exc))
        if base and base == quote:
            errors.append(f"base and quote are both {base}")
        rate = _decimal(row.get("rate"), "rate", errors)
        if rate is not None and rate <= 0:
            errors.append(f"rate {rate} is not positive")
        spread = _decimal(row.get("spread_bps") or "0", "spread_bps", errors)
        if spread is not None and not 0 <= spread < BASIS_POINTS:
            errors.append(f"spread_bps {spread} is not from 0 to 9999")
        start = _moment(row.get("valid_from"), "valid_from", errors)
        end = _moment(row.get("valid_until"), "valid_until", errors)
        if start is not None and end is not None and not start < end:
            errors.append("valid_from is not before valid_until")
        if errors:
            problems.append(f"line {line}: " + ", ".join(errors))
            continue
        rates.append(Rate(base, quote, rate, start, end, spread))
    if problems:
        raise RateTableError(problems)
    return RateTable(rates)


def parse_rate_csv(text: str) -> RateTable:
    """A rate table from the text of its CSV file (RateTableError when unusable)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in HEADER if name not in (reader.fieldnames or ())]
    if missing:
        raise RateTableError([f"the header lacks {', '.join(missing)} (expected "
                              f"{','.join(HEADER)}[,spread_bps])"])
    return parse_rate_rows(reader)


def _decimal(text: str | None, name: str, errors: list[str]) -> Decimal | None:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        errors.append(f"{name} {text!r} is not a decimal number")
        return None
    if not value.is_finite():
        errors.append(f"{name} {text!r} is not a finite number")
        return None
    return value


def _moment(text: str | None, name: str, errors: list[str]) -> datetime | None:
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError:
        errors.append(f"{name} {text!r} is not an ISO 8601 date-time")
        return None
    if value.tzinfo is None:
        errors.append(f"{name} {text!r} has no offset (write Z or +01:00)")
        return None
    return value
