"""The report's inline SVG charts: entries and breaks by category; per statement, the booked
balance, the ledger's figure and the ledger's figure with the in-flight amounts, over the period.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from bridge.reconciliation.outcomes import BreakCategory, EntryStatus

GOOD = {EntryStatus.MATCHED: "#2e7d32", EntryStatus.MINTED: "#43a047", EntryStatus.REVERSED: "#7cb342",
        EntryStatus.WOULD_MINT: "#9ccc65", EntryStatus.WOULD_REVERSE: "#c5e1a5",
        EntryStatus.PENDING: "#9e9e9e"}
BAD = {BreakCategory.BACKING_MISMATCH: "#b71c1c", BreakCategory.STATEMENT_INCONSISTENT: "#880e4f",
       BreakCategory.MISSING_ON_LEDGER: "#d32f2f", BreakCategory.MISSING_ON_STATEMENT: "#e64a19",
       BreakCategory.DUPLICATE: "#f57c00", BreakCategory.UNAPPLIED_CREDIT: "#ffa000",
       BreakCategory.MATCHED_WITH_DIFFERENCE: "#fbc02d"}
_STATEMENT_COLOUR, _LEDGER_COLOUR, _IN_FLIGHT_COLOUR = "#1565c0", "#ef6c00", "#6a1b9a"

Points = Sequence[Sequence[str]]  # [[ISO time, decimal string], ...] as the JSON report has them


def label(name: str) -> str:
    """A code of the report (`missing_on_ledger`, `would_mint`) as people read it."""
    return name.replace("_", " ")


def in_flight_series(s: Mapping[str, Any]) -> list[list[str]]:
    """The ledger's figure as it would stand had the ledger booked, when the bank booked them,
    the statement's payments it booked after the period (a replay of older statements books
    them all today): each operation posted after the end, moved to its entry's booking time
    (or the end, when the entry gives none). Empty when nothing is in flight."""
    end = s["to"]
    booked_at = {e["entry"]: e["booked_at"] for e in s["entries"]}
    moved = [(booked_at.get(o["entry"]) or end, Decimal(o["amount"]) * (1 if o["credit_debit"] == "CRDT" else -1))
             for o in s["operations"] if end and o["posted_at"] and o["posted_at"] > end]
    ledger = [(t, Decimal(v)) for t, v in s["series"]["ledger"]]
    if not moved or not ledger:
        return []
    start = ledger[0][0]
    moved = [(max(t, start), amount) for t, amount in moved]
    points = []
    for moment in sorted({t for t, _ in ledger} | {t for t, _ in moved}):
        base = next((v for t, v in reversed(ledger) if t <= moment), ledger[0][1])
        extra = sum((a for t, a in moved if t <= moment), Decimal(0))
        points.append([moment, str(base + extra)])
    return points


def category_chart(report: Mapping[str, Any]) -> str:
    """Horizontal bars: entries by good outcome, then breaks by category."""
    entries = Counter(report["summary"]["entries"])
    rows = [(s, entries[s], GOOD[s]) for s in GOOD if entries.get(s)]
    rows += [(c, n, BAD.get(c, "#c62828")) for c, n in report["summary"]["breaks"].items()]
    if not rows:
        return '<p class="muted">nothing to show</p>'
    width, label_w, bar_h, gap = 760, 200, 22, 8
    top = max(n for _, n, _ in rows)
    height = len(rows) * (bar_h + gap) + gap
    svg = [f'<svg role="img" aria-label="matched and breaks by category" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (name, count, colour) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        length = max(2, int((width - label_w - 60) * count / top))
        baseline = f"{y + bar_h * 0.7:.0f}"
        svg.append(f'<text x="{label_w - 8}" y="{baseline}" text-anchor="end">{escape(label(name))}</text>')
        svg.append(f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" rx="3" fill="{colour}">'
                   f"<title>{escape(label(name))}: {count}</title></rect>")
        svg.append(f'<text x="{label_w + length + 6}" y="{baseline}">{count}</text>')
    svg.append("</svg>")
    return "".join(svg)


def balance_chart(statement: Points, ledger: Points, currency: str, measure: str,
                  in_flight: Points = ()) -> str:
    """Step lines on one time axis: the booked balance (statement), the ledger's figure, and,
    when the ledger booked some of the period's payments after it, the ledger's figure with
    them at their booking times (dotted)."""
    series = [(name, colour, dash, [(datetime.fromisoformat(t), Decimal(v)) for t, v in points])
              for name, colour, dash, points in (
                  ("booked balance (statement)", _STATEMENT_COLOUR, "", statement),
                  (f"{measure} (ledger)", _LEDGER_COLOUR, "6 4", ledger),
                  (f"{measure} with in-flight amounts at their booking times", _IN_FLIGHT_COLOUR, "2 3",
                   in_flight)) if points]
    if not series:
        return '<p class="muted">no period to draw</p>'
    times = [t for *_, points in series for t, _ in points]
    values = [v for *_, points in series for _, v in points]
    t0, t1 = min(times), max(times)
    low, high = min(values + [Decimal(0)]), max(values)
    if high == low:
        high = low + 1
    width, left, right, top = 760, 110, 20, 16
    plot_h, legend_row = 208, 18
    bottom = 40 + legend_row * len(series)
    height = top + plot_h + bottom
    span = (t1 - t0).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return left + (width - left - right) * (moment - t0).total_seconds() / span

    def y(value: Decimal) -> float:
        return top + plot_h * float((high - value) / (high - low))

    svg = [f'<svg role="img" aria-label="booked balance and {escape(measure)} over the period" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{plot_h}" '
           f'fill="#fcfcfc" stroke="#ddd"/>']
    decimals = max((len(v.split(".")[1]) if "." in v else 0)
                   for points in (statement, ledger, in_flight) for _, v in points)
    for i in range(5):  # value grid and labels, with the currency's decimals
        value = low + (high - low) * i / 4
        level = y(value)
        svg.append(f'<line x1="{left}" x2="{width - right}" y1="{level:.1f}" y2="{level:.1f}" stroke="#eee"/>')
        svg.append(f'<text x="{left - 6}" y="{level + 4:.1f}" text-anchor="end">{value:,.{decimals}f}</text>')
    for moment, anchor in ((t0, "start"), (t1, "end")):
        svg.append(f'<text x="{x(moment):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">'
                   f'{escape(moment.strftime("%Y-%m-%d %H:%M"))} UTC</text>')
    for i, (name, colour, dash, points) in enumerate(series):
        path = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"]
        for moment, value in points[1:]:
            path.append(f"H{x(moment):.1f}V{y(value):.1f}")
        stroke = f' stroke-dasharray="{dash}"' if dash else ""
        svg.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{stroke}>'
                   f"<title>{escape(name)}</title></path>")
        ly = top + plot_h + 34 + i * legend_row
        svg.append(f'<line x1="{left}" x2="{left + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                   f'stroke-width="3"{stroke}/><text x="{left + 30}" y="{ly}">{escape(name)} '
                   f'({escape(currency)})</text>')
    svg.append("</svg>")
    return "".join(svg)
