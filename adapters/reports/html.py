"""The reconciliation report as one self-contained HTML page, from its JSON form: inline CSS,
inline SVG charts (`charts.py`), no script and nothing fetched, so it opens from a mail
attachment or an air-gapped share as it is, and prints on A4 (a print stylesheet).

Per statement: where it came from (file, MsgId), its figures and the ledger's, a chart of the
booked balance against the ledger's figure (token supply for an omnibus account) through the
period, with the amounts the ledger booked after the period (in flight) drawn and explained.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from adapters.reports.charts import BAD, GOOD, balance_chart, category_chart, in_flight_series, label

MAX_ENTRY_ROWS = 2000
"""Entries and operations listed per statement; the JSON form has them all."""

_FIGURES = ("difference", "closing_booked", "ledger", "in_flight", "ledger_amount", "opening_booked",
            "credits", "debits", "expected_closing")

_LABELS = {
    "entry": "Entry", "detail": "TxDtls", "status": "Outcome", "amount": "Amount",
    "credit_debit": "Credit / debit", "booking_status": "Booking status", "booked_at": "Booked at",
    "matched_on": "Matched on", "operation": "Ledger operation", "reason": "Why", "kind": "Kind",
    "posted_at": "Posted on the ledger", "wallet": "Wallet", "references": "References",
    "uetr": "UETR", "end_to_end_id": "EndToEndId", "account_servicer_ref": "AcctSvcrRef",
    "closing_booked": "closing booked", "opening_booked": "opening booked",
    "expected_closing": "expected closing", "in_flight": "in flight", "ledger_amount": "ledger amount",
}
"""Column and figure names as people read them, for the report's JSON keys."""

_REFERENCES = ("uetr", "end_to_end_id", "account_servicer_ref")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1b1b;padding:0 1rem}
h1{margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.muted{color:#666}.clean{color:#2e7d32;font-weight:600}.breaks{color:#c62828;font-weight:600}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
.wide{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px;width:100%;table-layout:auto}
th,td{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#fafafa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.figures{width:auto}
code{font-size:12px;word-break:break-all}.tag{display:inline-block;border-radius:4px;padding:0 .4rem;color:#fff;font-size:12px}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600}
.note{border-left:4px solid #6a1b9a;background:#f8f4fb;padding:.4rem .8rem;margin:.6rem 0}
svg{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#333}
@media print{
body{margin:0;max-width:none;padding:0;font-size:10pt}
h2{break-before:auto;break-after:avoid}h3{break-after:avoid}
table{font-size:8pt}th,td{padding:.1rem .25rem}thead{display:table-header-group}tr,svg,.note{break-inside:avoid}
.card{border-color:#999}.tag{color:#000!important;background:none!important;border:1px solid #666}
details>summary::after{content:" (open it before printing to print its rows)";font-weight:400;color:#666}
details[open]>summary::after{content:""}
a{color:inherit;text-decoration:none}
}
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
        "<h2>Matched and breaks by category</h2>", category_chart(report),
    ]
    for statement in statements:
        parts.append(_statement(statement))
    parts.append("</body></html>")
    return "\n".join(parts)


def _card(name: str, value: object) -> str:
    return f'<div class="card"><span class="muted">{escape(name)}</span><b>{escape(str(value))}</b></div>'


def _origin(s: Mapping[str, Any]) -> str:
    """Which statement this is: the camt.053 file it was read from (when reconciled from a
    file) and its message's MsgId."""
    named = []
    if s.get("source"):
        named.append(f'file <code>{escape(s["source"])}</code>')
    named.append(f'camt.053 MsgId <code>{escape(s.get("message_id") or "?")}</code>')
    named.append(f'statement Id <code>{escape(s["statement_id"])}</code>')
    seen = " &middot; reconciled before: shown against the ledger as it stands now" if s.get("seen_before") else ""
    return f'<p class="muted">{" &middot; ".join(named)}{seen}</p>'


def _statement(s: Mapping[str, Any]) -> str:
    ccy = s["currency"]
    who = f"wallet {s['wallet']}" if s["kind"] == "wallet" else f"{ccy} omnibus account"
    state = ('<span class="clean">clean</span>' if s["clean"] else
             '<span class="breaks">refused: the statement does not add up</span>' if s["refused"] else
             f'<span class="breaks">{len(s["breaks"])} break(s)</span>')
    parts = [f"<h2>{escape(s['statement_id'])}</h2>", _origin(s),
             f'<p>{escape(s["account"])} ({escape(who)}) &middot; {escape(s["from"] or "?")} to '
             f'{escape(s["to"] or "?")} &middot; {state}</p>']
    if not s["refused"]:
        ledger = s["ledger"]
        figures = [("opening booked", s["opening_booked"]), ("credits", s["credits"]),
                   ("debits", s["debits"]), ("closing booked", s["closing_booked"]),
                   (f"{ledger['measure']} at the start", ledger["opening"]),
                   (f"{ledger['measure']} at the end", ledger["closing"]),
                   ("in flight (booked on the ledger after the end)", ledger["in_flight"])]
        parts.append('<table class="figures">' + "".join(
            f'<tr><th>{escape(name)}</th><td class="n">{escape(value or "")} {escape(ccy)}</td></tr>'
            for name, value in figures if value is not None) + "</table>")
        measure = "token supply" if s["kind"] == "omnibus" else "wallet balance on the ledger"
        in_flight = in_flight_series(s)
        parts.append(f"<h3>Booked balance and {escape(measure)} over the period</h3>")
        parts.append(balance_chart(s["series"]["statement"], s["series"]["ledger"], ccy, measure, in_flight))
        if in_flight:
            parts.append(_in_flight_note(s, measure))
    if s["breaks"]:
        parts.append("<h3>Breaks</h3>")
        parts.append(_breaks(s["breaks"]))
    if s["entries"]:
        parts.append(f'<details><summary>Statement entries ({len(s["entries"])})</summary>')
        parts.append(_table(s["entries"], ("entry", "detail", "status", "amount", "credit_debit",
                                           "booking_status", "booked_at", "references", "matched_on",
                                           "operation", "reason"), amounts=("amount",)))
        parts.append("</details>")
    if s["operations"]:
        parts.append(f'<details><summary>Ledger operations ({len(s["operations"])})</summary>')
        parts.append(_table(s["operations"], ("operation", "kind", "status", "amount", "credit_debit",
                                              "posted_at", "wallet", "entry", "references"),
                            amounts=("amount",)))
        parts.append("</details>")
    return "\n".join(parts)


def _in_flight_note(s: Mapping[str, Any], measure: str) -> str:
    """Why the ledger's line stays below the statement's: it booked the period's payments later."""
    late = [o for o in s["operations"] if o["posted_at"] and o["posted_at"] > s["to"]]
    first, last = min(o["posted_at"] for o in late), max(o["posted_at"] for o in late)
    when = escape(first) if first == last else f"between {escape(first)} and {escape(last)}"
    return (f'<p class="note"><b>In flight: {escape(s["ledger"]["in_flight"] or "")} {escape(s["currency"])}.</b> '
            f"The ledger booked {len(late)} of this period's operation(s) after the period ended "
            f"({when}), for example when older statements' payments are replayed today, so through "
            f"the period the {escape(measure)} line shows none of them. The dotted line "
            "draws the same ledger with each of them at its statement entry's booking time: where it "
            "meets the booked balance, the late bookings explain the gap.</p>")


def _references(row: Mapping[str, Any]) -> str:
    """A payment's references stacked in one cell, so that a row fits a page."""
    return "<br>".join(f'<span class="muted">{_LABELS[key]}</span> <code>{escape(row[key])}</code>'
                       for key in _REFERENCES if row.get(key))


def _breaks(breaks: Sequence[Mapping[str, Any]]) -> str:
    """One row per break: what, which entry, how much, the payment's references, the figures
    that explain it, and why."""
    rows = []
    for b in breaks:
        colour = BAD.get(b["category"], "#c62828")
        side = {"CRDT": "+", "DBIT": "-"}.get(b.get("credit_debit", ""), "")
        refs = _references(b) + (f'<br><span class="muted">ledger</span> <code>{escape(b["operation"])}</code>'
                                 if b.get("operation") else "")
        figures = "<br>".join(f"{escape(_LABELS.get(k, label(k)))} {escape(str(v))}"
                              for k, v in b.items() if k in _FIGURES)
        rows.append(f'<tr><td><span class="tag" style="background:{colour}">{escape(label(b["category"]))}</span></td>'
                    f'<td class="n">{escape(str(b.get("entry", "")))}</td>'
                    f'<td class="n">{side}{escape(b.get("amount") or "")}</td>'
                    f"<td>{refs}</td><td>{figures}</td><td>{escape(b['reason'])}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Category", "Entry", "Amount", "References", "Figures", "Why"))
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], amounts: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(_LABELS.get(c, label(c)))}</th>" for c in columns)
    body = []
    for row in rows[:MAX_ENTRY_ROWS]:
        cells = []
        for c in columns:
            value = row.get(c)
            text = "" if value is None else str(value)
            if c == "references":
                cells.append(f"<td>{_references(row)}</td>")
            elif c in ("status", "category") and text:
                colour = GOOD.get(text) or BAD.get(text, "#c62828")
                cells.append(f'<td><span class="tag" style="background:{colour}">{escape(label(text))}</span></td>')
            elif c in amounts:
                cells.append(f'<td class="n">{escape(text)}</td>')
            elif c == "operation" and text:
                cells.append(f"<td><code>{escape(text)}</code></td>")
            else:
                cells.append(f"<td>{escape(label(text) if c == 'matched_on' else text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="muted">{len(rows) - MAX_ENTRY_ROWS} more not shown: see the JSON report</p>'
            if len(rows) > MAX_ENTRY_ROWS else "")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}'
