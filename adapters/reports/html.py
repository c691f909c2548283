"""The reconciliation report as one self-contained HTML page, from its JSON form: inline CSS,
inline SVG charts, no script and nothing fetched, so it opens from a mail attachment or an
air-gapped share as it is.

Charts: entries matched against breaks by category; per statement, the account's booked balance
against the ledger's figure (token supply for an omnibus account) through the period.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from bridge.reconciliation.outcomes import BreakCategory, EntryStatus

MAX_ENTRY_ROWS = 2000
"""Entries and operations listed per statement; the JSON form has them all."""

_GOOD = {EntryStatus.MATCHED: "#2e7d32", EntryStatus.MINTED: "#43a047", EntryStatus.REVERSED: "#7cb342",
         EntryStatus.WOULD_MINT: "#9ccc65", EntryStatus.WOULD_REVERSE: "#c5e1a5",
         EntryStatus.PENDING: "#9e9e9e"}
_BAD = {BreakCategory.BACKING_MISMATCH: "#b71c1c", BreakCategory.STATEMENT_INCONSISTENT: "#880e4f",
        BreakCategory.MISSING_ON_LEDGER: "#d32f2f", BreakCategory.MISSING_ON_STATEMENT: "#e64a19",
        BreakCategory.DUPLICATE: "#f57c00", BreakCategory.UNAPPLIED_CREDIT: "#ffa000",
        BreakCategory.MATCHED_WITH_DIFFERENCE: "#fbc02d"}
_STATEMENT_COLOUR, _LEDGER_COLOUR = "#1565c0", "#ef6c00"
_FIGURES = ("difference", "closing_booked", "ledger", "in_flight", "ledger_amount", "opening_booked",
            "credits", "debits", "expected_closing")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1b1b;padding:0 1rem}
h1{margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.muted{color:#666}.clean{color:#2e7d32;font-weight:600}.breaks{color:#c62828;font-weight:600}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#fafafa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;word-break:break-all}.tag{display:inline-block;border-radius:4px;padding:0 .4rem;color:#fff;font-size:12px}
details{margin:.6rem 0;overflow-x:auto}summary{cursor:pointer;font-weight:600}
svg text{font:12px system-ui,sans-serif;fill:#333}
"""


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for a report (one or several statements)."""
    statements = report["statements"]
    entries = report["summary"]["entries"]
    matched = sum(entries.get(s, 0) for s in ("matched", "minted", "reversed"))
    verdict = ('<span class="clean">clean</span>' if report["clean"] else
               f'<span class="breaks">{len(report["breaks"])} break(s)</span>')
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        "<title>Reconciliation report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>Reconciliation report</h1>",
        f'<p class="muted">generated {escape(report.get("generated_at") or "")} &middot; '
        f"{len(statements)} statement(s) &middot; {verdict}"
        + (" &middot; dry run: nothing applied" if report.get("dry_run") else "") + "</p>",
        '<div class="cards">',
        _card("statements", len(statements)), _card("entries", sum(entries.values())),
        _card("matched", matched), _card("breaks", len(report["breaks"])), "</div>",
        "<h2>Matched and breaks by category</h2>", _category_chart(report),
    ]
    for statement in statements:
        parts.append(_statement(statement))
    parts.append("</body></html>")
    return "\n".join(parts)


def _card(label: str, value: object) -> str:
    return f'<div class="card"><span class="muted">{escape(label)}</span><b>{escape(str(value))}</b></div>'


def _category_chart(report: Mapping[str, Any]) -> str:
    """Horizontal bars: entries by good outcome, then breaks by category."""
    entries = Counter(report["summary"]["entries"])
    rows = [(s, entries[s], _GOOD[s]) for s in _GOOD if entries.get(s)]
    rows += [(c, n, _BAD.get(c, "#c62828")) for c, n in report["summary"]["breaks"].items()]
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
        svg.append(f'<text x="{label_w - 8}" y="{baseline}" text-anchor="end">{escape(name)}</text>')
        svg.append(f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" rx="3" fill="{colour}">'
                   f"<title>{escape(name)}: {count}</title></rect>")
        svg.append(f'<text x="{label_w + length + 6}" y="{baseline}">{count}</text>')
    svg.append("</svg>")
    return "".join(svg)


def _statement(s: Mapping[str, Any]) -> str:
    ccy = s["currency"]
    who = f"wallet {s['wallet']}" if s["kind"] == "wallet" else f"{ccy} omnibus account"
    state = ('<span class="clean">clean</span>' if s["clean"] else
             '<span class="breaks">refused: the statement does not add up</span>' if s["refused"] else
             f'<span class="breaks">{len(s["breaks"])} break(s)</span>')
    parts = [f"<h2>{escape(s['statement_id'])}</h2>",
             f'<p>{escape(s["account"])} ({escape(who)}) &middot; {escape(s["from"] or "?")} to '
             f'{escape(s["to"] or "?")} &middot; {state}</p>']
    if not s["refused"]:
        ledger = s["ledger"]
        figures = [("opening booked", s["opening_booked"]), ("credits", s["credits"]),
                   ("debits", s["debits"]), ("closing booked", s["closing_booked"]),
                   (f"{ledger['measure']} at the start", ledger["opening"]),
                   (f"{ledger['measure']} at the end", ledger["closing"]),
                   ("in flight (applied after the end)", ledger["in_flight"])]
        parts.append("<table>" + "".join(
            f'<tr><th>{escape(label)}</th><td class="n">{escape(value or "")} {escape(ccy)}</td></tr>'
            for label, value in figures if value is not None) + "</table>")
        measure = "token supply" if s["kind"] == "omnibus" else "wallet balance on the ledger"
        parts.append(f"<h3>Booked balance and {escape(measure)} over the period</h3>")
        parts.append(_balance_chart(s["series"]["statement"], s["series"]["ledger"], ccy, measure))
    if s["breaks"]:
        parts.append("<h3>Breaks</h3>")
        parts.append(_breaks(s["breaks"]))
    if s["entries"]:
        parts.append(f'<details><summary>Entries ({len(s["entries"])})</summary>')
        parts.append(_table(s["entries"], ("entry", "detail", "status", "amount", "credit_debit",
                                           "booking_status", "booked_at", "uetr", "end_to_end_id",
                                           "account_servicer_ref", "matched_on", "operation", "reason"),
                            amounts=("amount",)))
        parts.append("</details>")
    if s["operations"]:
        parts.append(f'<details><summary>Ledger operations ({len(s["operations"])})</summary>')
        parts.append(_table(s["operations"], ("operation", "kind", "status", "amount", "credit_debit",
                                              "posted_at", "wallet", "entry", "uetr", "end_to_end_id"),
                            amounts=("amount",)))
        parts.append("</details>")
    return "\n".join(parts)


def _breaks(breaks: Sequence[Mapping[str, Any]]) -> str:
    """One row per break: what, which entry, how much, the payment's references stacked in one
    cell (so the row fits a page), the figures that explain it, and why."""
    rows = []
    for b in breaks:
        colour = _BAD.get(b["category"], "#c62828")
        side = {"CRDT": "+", "DBIT": "-"}.get(b.get("credit_debit", ""), "")
        refs = "<br>".join(f'<span class="muted">{label}</span> <code>{escape(b[key])}</code>'
                           for key, label in (("uetr", "UETR"), ("end_to_end_id", "E2E"),
                                              ("account_servicer_ref", "AcctSvcrRef"), ("operation", "ledger"))
                           if b.get(key))
        figures = "<br>".join(f"{escape(k)} {escape(str(v))}" for k, v in b.items() if k in _FIGURES)
        rows.append(f'<tr><td><span class="tag" style="background:{colour}">{escape(b["category"])}</span></td>'
                    f'<td class="n">{escape(str(b.get("entry", "")))}</td>'
                    f'<td class="n">{side}{escape(b.get("amount") or "")}</td>'
                    f"<td>{refs}</td><td>{figures}</td><td>{escape(b['reason'])}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("category", "entry", "amount", "references", "figures", "why"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], amounts: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows[:MAX_ENTRY_ROWS]:
        cells = []
        for c in columns:
            value = row.get(c)
            text = "" if value is None else str(value)
            if c in ("status", "category") and text:
                colour = _GOOD.get(text) or _BAD.get(text, "#c62828")
                cells.append(f'<td><span class="tag" style="background:{colour}">{escape(text)}</span></td>')
            elif c in amounts:
                cells.append(f'<td class="n">{escape(text)}</td>')
            else:
                cells.append(f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="muted">{len(rows) - MAX_ENTRY_ROWS} more not shown: see the JSON report</p>'
            if len(rows) > MAX_ENTRY_ROWS else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _balance_chart(statement: Sequence[Sequence[str]], ledger: Sequence[Sequence[str]], currency: str,
                   measure: str) -> str:
    """Two step lines on one time axis: the booked balance (statement) and the ledger's figure."""
    series = [(name, colour, [(datetime.fromisoformat(t), Decimal(v)) for t, v in points])
              for name, colour, points in (("booked balance (statement)", _STATEMENT_COLOUR, statement),
                                           (f"{measure} (ledger)", _LEDGER_COLOUR, ledger)) if points]
    if not series:
        return '<p class="muted">no period to draw</p>'
    times = [t for _, _, points in series for t, _ in points]
    values = [v for _, _, points in series for _, v in points]
    t0, t1 = min(times), max(times)
    low, high = min(values + [Decimal(0)]), max(values)
    if high == low:
        high = low + 1
    width, height, left, right, top, bottom = 760, 280, 110, 20, 16, 56
    span = (t1 - t0).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return left + (width - left - right) * (moment - t0).total_seconds() / span

    def y(value: Decimal) -> float:
        return top + (height - top - bottom) * float((high - value) / (high - low))

    svg = [f'<svg role="img" aria-label="booked balance and {escape(measure)} over the period" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
           f'fill="#fcfcfc" stroke="#ddd"/>']
    decimals = max((len(v.split(".")[1]) if "." in v else 0)
                   for points in (statement, ledger) for _, v in points)
    for i in range(5):  # value grid and labels, with the currency's decimals
        value = low + (high - low) * i / 4
        level = y(value)
        svg.append(f'<line x1="{left}" x2="{width - right}" y1="{level:.1f}" y2="{level:.1f}" stroke="#eee"/>')
        svg.append(f'<text x="{left - 6}" y="{level + 4:.1f}" text-anchor="end">{value:,.{decimals}f}</text>')
    for moment, anchor in ((t0, "start"), (t1, "end")):
        svg.append(f'<text x="{x(moment):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">'
                   f'{escape(moment.strftime("%Y-%m-%d %H:%M"))} UTC</text>')
    for i, (name, colour, points) in enumerate(series):
        path = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"]
        for moment, value in points[1:]:
            path.append(f"H{x(moment):.1f}V{y(value):.1f}")
        dash = ' stroke-dasharray="6 4"' if i else ""
        svg.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
                   f"<title>{escape(name)}</title></path>")
        lx = left + i * 300
        svg.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{height - 14}" y2="{height - 14}" stroke="{colour}" '
                   f'stroke-width="3"{dash}/><text x="{lx + 30}" y="{height - 10}">{escape(name)} '
                   f'({escape(currency)})</text>')
    svg.append("</svg>")
    return "".join(svg)
