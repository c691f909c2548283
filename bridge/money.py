"""Exact money: ISO 4217 currencies, their minor units, and conversions that never round."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import iso4217


LEDGER_MAX_UNITS = 10**18 - 1
"""The largest amount, wallet balance or token supply the bridge holds, in minor units, for every
ledger whatever its rail. It is the largest amount ISO 20022 can carry (`totalDigits` 18; in
minor units whatever the currency's decimals), so that any balance or supply can be reported
(a camt.053 balance, a statement out of the supply); and well inside signed 64-bit, the widest
integer every store keeps exactly (PostgreSQL `bigint`; SQLite INTEGER, whose arithmetic turns
to REAL past it), so that even the sum of two never leaves it. One XSD-valid amount always fits;
sums of them need not, so the ledgers refuse an operation that would take the supply (and so
any balance) beyond it (AM02, `Reason.NOT_ALLOWED_AMOUNT`)."""

class CurrencyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


class AmountOutOfRange(CurrencyError):
    """An amount beyond what the ledger holds exactly (LEDGER_MAX_UNITS minor units)."""


def within_ledger_range(units: int) -> bool:
    """True when `units` (an amount, a balance, a supply; or minus one) is in the ledger's range."""
    return -LEDGER_MAX_UNITS <= units <= LEDGER_MAX_UNITS


@lru_cache(maxsize=None)
def _active_currencies() -> dict[str, int | None]:
    return {c.code: c.exponent for c in iso4217.Currency}


def is_active_currency(code: str) -> bool:
    """True for a currency code in the current ISO 4217 list (funds and metals included)."""
    return code in _active_currencies()


def minor_units(code: str) -> int:
    """The ISO 4217 exponent of a currency (EUR 2, JPY 0, KWD 3).

    Codes without an exponent in ISO 4217 (XAU, XDR, ...) cannot be tokenized exactly.
    """
    try:
        exponent = _active_currencies()[code]
    except KeyError:
        raise CurrencyError(f"{code!r} is not an active ISO 4217 currency") from None
    if exponent is None:
        raise CurrencyError(f"{code} has no minor unit in ISO 4217")
    return exponent


def decimals_of(value: Decimal) -> int:
    """Number of significant decimals written in a Decimal (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True)
class Amount:
    """An ISO amount as written in a message: a Decimal and its currency."""

    value: Decimal
    currency: str

    def to_minor(self) -> int:
        """Integer minor units; refuses (never rounds) more decimals than the currency has, and
        (AmountOutOfRange) more units than the ledger holds."""
        exponent = minor_units(self.currency)
        if decimals_of(self.value) > exponent:
            raise CurrencyError(
                f"{self.value} {self.currency} has more than {exponent} decimals"
            )
        units = int(self.value.scaleb(exponent))
        if not within_ledger_range(units):
            raise AmountOutOfRange(f"{self.value} {self.currency} is beyond the largest amount "
                                   f"the ledger holds ({LEDGER_MAX_UNITS} minor units)")
        return units

    @classmethod
    def from_minor(cls, units: int, currency: str) -> "Amount":
        """The amount of `units` minor units, with exactly the currency's decimals."""
        exponent = minor_units(currency)
        return cls(Decimal(units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)), currency)

    def __str__(self) -> str:
        return f"{self.value} {self.currency}"
