"""Balances and token supply of one currency over time, from the ledger journal: what the
console's chart draws. Pure: the postings in, the series out.

The supply at any time is the sum of the wallets' balances (the journal of a currency leaves the
issuance account out, and supply == sum of balances is the ledger's invariant), so both series
come from the same postings and can never disagree on the chart.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bridge.ports import Posting

MAX_POINTS = 400
"""Points per series at most: a chart wider than that shows nothing more; the last is always kept."""


@dataclass(frozen=True, slots=True)
class BalanceHistory:
    currency: str
    supply: list[tuple[datetime, int]] = field(default_factory=list)  # minor units after each step
    wallets: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)


def balance_history(currency: str, postings: Iterable[Posting],
                    max_points: int = MAX_POINTS) -> BalanceHistory:
    """Each wallet's balance and the supply after every posting time (postings at one time are
    one step), thinned to `max_points` per series."""
    held: dict[str, int] = defaultdict(int)
    supply: list[tuple[datetime, int]] = []
    wallets: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    total = 0
    for posting in sorted(postings, key=lambda p: (p.posted_at, p.sequence)):
        held[posting.holder] += posting.amount
        total += posting.amount
        _step(supply, posting.posted_at, total)
        _step(wallets[posting.holder], posting.posted_at, held[posting.holder])
    return BalanceHistory(currency, _thinned(supply, max_points),
                          {w: _thinned(s, max_points) for w, s in sorted(wallets.items())})


def _step(series: list[tuple[datetime, int]], at: datetime, value: int) -> None:
    if series and series[-1][0] == at:
        series[-1] = (at, value)
    else:
        series.append((at, value))


def _thinned(series: list[tuple[datetime, int]], max_points: int) -> list[tuple[datetime, int]]:
    if len(series) <= max_points:
        return series
    stride = len(series) / (max_points - 1)
    kept = [series[int(i * stride)] for i in range(max_points - 1)]
    return kept + [series[-1]]
