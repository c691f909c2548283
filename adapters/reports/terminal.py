"""The reconciliation report as terminal tables (rich), from its JSON form."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from bridge.reconciliation.outcomes import EntryStatus

MAX_BREAK_ROWS = 50
"""Breaks listed per statement on a terminal; the JSON and HTML forms list them all."""

_NOT_BREAKS = frozenset(EntryStatus)
"""Every status but a break category: shown plain, breaks in red."""


def _balances(statement: Mapping[str, Any]) -> Table:
    ccy = statement["currency"]
    ledger = statement["ledger"]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("what")
    table.add_column("amount", justify="right")
    rows = [("opening booked", statement["opening_booked"]), ("+ credits", statement["credits"]),
            ("- debits", statement["debits"]), ("closing booked", statement["closing_booked"]),
            (f"{ledger['measure']} at the end", ledger["closing"])]
    if ledger.get("in_flight") not in (None, "0", "0.00", "0.000"):
        rows.append(("  + in flight (applied after the end)", ledger["in_flight"]))
    for label, value in rows:
        if value is not None:
            table.add_row(label, f"{value} {ccy}")
    return table


def _counts(statement: Mapping[str, Any]) -> Table:
    table = Table(title="entries and ledger operations", title_justify="left")
    table.add_column("status")
    table.add_column("entries", justify="right")
    table.add_column("ledger operations", justify="right")
    entries: dict[str, int] = {}
    operations: dict[str, int] = {}
    for e in statement["entries"]:
        entries[e["status"]] = entries.get(e["status"], 0) + 1
    for o in statement["operations"]:
        operations[o["status"]] = operations.get(o["status"], 0) + 1
    for status in sorted(set(entries) | set(operations), key=lambda s: (s not in _NOT_BREAKS, s)):
        style = "" if status in _NOT_BREAKS else "red"
        table.add_row(f"[{style}]{status}[/]" if style else status,
                      str(entries.get(status, "")), str(operations.get(status, "")))
    return table


def _breaks(statement: Mapping[str, Any]) -> Table:
    table = Table(title="breaks", title_justify="left", title_style="bold red", expand=True)
    table.add_column("category", no_wrap=True)
    table.add_column("entry", justify="right", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("references (UETR, EndToEndId, AcctSvcrRef)", overflow="fold", ratio=2)
    table.add_column("why", overflow="fold", ratio=3)
    for b in statement["breaks"][:MAX_BREAK_ROWS]:
        amount = b.get("amount") or b.get("difference") or ""
        side = {"CRDT": "+", "DBIT": "-"}.get(b.get("credit_debit", ""), "")
        refs = "\n".join(filter(None, (b.get("uetr"), b.get("end_to_end_id"), b.get("account_servicer_ref"))))
        table.add_row(b["category"], str(b.get("entry", "")), f"{side}{amount}",
                      refs or b.get("operation", ""), b["reason"])
    return table


def print_report(report: Mapping[str, Any], console: Console) -> None:
    """Per statement: the balances against the ledger, the counts, the breaks; then the verdict."""
    for s in report["statements"]:
        verdict = ("[green]clean[/]" if s["clean"] else
                   "[red bold]refused: does not add up[/]" if s["refused"] else
                   f"[red]{len(s['breaks'])} break(s)[/]")
        who = f"wallet {s['wallet']}" if s["kind"] == "wallet" else f"{s['currency']} omnibus"
        console.print(f"[bold]{s['statement_id']}[/]  {s['account']} ({who})  "
                      f"{s['from'] or '?'} .. {s['to'] or '?'}  {verdict}"
                      + ("  [yellow](already reconciled: shown as the ledger stands now)[/]"
                         if s.get("seen_before") else ""))
        if not s["refused"]:
            console.print(_balances(s))
            console.print(_counts(s))
        if s["breaks"]:
            console.print(_breaks(s))
            hidden = len(s["breaks"]) - MAX_BREAK_ROWS
            if hidden > 0:
                console.print(f"... and {hidden} more break(s): use --json or --html for all")
        console.print()
    total = len(report["breaks"])
    if report.get("dry_run"):
        console.print("[yellow]dry run: nothing was applied or recorded[/]")
    console.print("[green bold]clean[/]" if report["clean"] else
                  f"[red bold]{total} break(s)[/]: " + ", ".join(
                      f"{n} {c}" for c, n in report["summary"]["breaks"].items()))
