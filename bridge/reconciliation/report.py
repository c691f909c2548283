"""The reconciliation report as JSON: the machine form, and the one shape every other form
(terminal table, HTML page) is drawn from, so a report received from `tokenbridge.out` renders
like one made on the spot.

Amounts are decimal strings in major units with the currency's decimals (as `balances --json`);
times are ISO 8601 in UTC; `entry` is the entry's position in its statement, from 1. Every
break names the payment's references (`uetr`, `end_to_end_id`, `account_servicer_ref`, null
when the payment has none).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from bridge.accounts import OMNIBUS
from bridge.money import Amount
from bridge.reconciliation.outcomes import (Break, EntryOutcome, OperationOutcome, ReconciliationReport,
                                            StatementReconciliation)


def money(units: int | None, currency: str) -> str | None:
    """Minor units as a decimal string in major units: 125050 EUR -> "1250.50"."""
    return None if units is None else str(Amount.from_minor(units, currency).value)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def report_to_dict(report: ReconciliationReport) -> dict[str, Any]:
    """The whole report: `{"clean", "breaks", "summary", "statements", ...}` (INTERFACE.md)."""
    statements = [_statement(s) for s in report.statements]
    return {
        "clean": report.clean,
        "dry_run": report.dry_run,
        "generated_at": iso(report.generated_at),
        "breaks": [b for s in statements for b in s["breaks"]],
        "summary": summarise(statements),
        "statements": statements,
    }


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several reports (one per camt.053 message) as one, as `reconcile` prints them."""
    reports = list(reports)
    statements = [s for r in reports for s in r["statements"]]
    return {
        "clean": all(r["clean"] for r in reports),
        "dry_run": any(r.get("dry_run") for r in reports),
        "generated_at": max((r["generated_at"] for r in reports if r.get("generated_at")), default=None),
        "breaks": [b for r in reports for b in r["breaks"]],
        "summary": summarise(statements),
        "statements": statements,
    }


def summarise(statements: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts: statements, entries by status, ledger operations by status, breaks by category."""
    statements = list(statements)
    return {
        "statements": len(statements),
        "entries": dict(sorted(Counter(e["status"] for s in statements for e in s["entries"]).items())),
        "operations": dict(sorted(Counter(o["status"] for s in statements for o in s["operations"]).items())),
        "breaks": dict(sorted(Counter(b["category"] for s in statements for b in s["breaks"]).items())),
    }


def _statement(s: StatementReconciliation) -> dict[str, Any]:
    ccy = s.account.currency
    totals = s.totals
    return {
        "message_id": s.message_id,
        "statement_id": s.statement_id,
        "account": s.account.account,
        "kind": s.account.kind,
        "wallet": s.account.wallet,
        "currency": ccy,
        "from": iso(s.start),
        "to": iso(s.end),
        "clean": s.clean,
        "refused": s.refused,
        "opening_booked": money(totals.opening, ccy) if totals else None,
        "credits": money(totals.credits, ccy) if totals else None,
        "debits": money(totals.debits, ccy) if totals else None,
        "closing_booked": money(totals.closing, ccy) if totals else None,
        "ledger": {
            "measure": "token supply" if s.account.kind == OMNIBUS else "wallet balance",
            "opening": money(s.ledger_opening, ccy),
            "closing": money(s.ledger_closing, ccy),
            "in_flight": money(s.in_flight, ccy),
        },
        "entries": [_entry(e) for e in s.entries],
        "operations": [_operation(o) for o in s.operations],
        "breaks": [_break(b, s) for b in s.breaks],
        "series": {
            "statement": [[iso(t), money(v, ccy)] for t, v in s.statement_series],
            "ledger": [[iso(t), money(v, ccy)] for t, v in s.ledger_series],
        },
    }


def _refs(refs) -> dict[str, str | None]:
    return {"uetr": refs.uetr if refs else None,
            "end_to_end_id": refs.end_to_end_id if refs else None,
            "account_servicer_ref": refs.account_servicer_ref if refs else None}


def _entry(e: EntryOutcome) -> dict[str, Any]:
    item = e.item
    return {
        "entry": item.entry_index + 1,
        "detail": None if item.detail_index is None else item.detail_index + 1,
        "status": e.status,
        "amount": money(item.amount, item.currency),
        "currency": item.currency,
        "credit_debit": "CRDT" if item.credit else "DBIT",
        "booking_status": item.status,
        "reversal": item.reversal,
        "booked_at": iso(item.booked_at),
        **_refs(item.refs),
        "operation": (e.operation.key if e.operation is not None else
                      e.movement.key if e.movement is not None else None),
        "matched_on": e.basis,
        "reason": e.reason,
    }


def _operation(o: OperationOutcome) -> dict[str, Any]:
    m = o.movement
    return {
        "operation": m.key,
        "kind": m.kind,
        "status": o.status,
        "amount": money(abs(m.amount), m.currency),
        "currency": m.currency,
        "credit_debit": "CRDT" if m.amount > 0 else "DBIT",
        "posted_at": iso(m.posted_at),
        "wallet": m.wallet,
        "entry": None if o.entry_index is None else o.entry_index + 1,
        "in_period": o.in_period,
        **_refs(m.refs),
    }


def _break(b: Break, s: StatementReconciliation) -> dict[str, Any]:
    found: dict[str, Any] = {
        "category": b.category,
        "statement_id": s.statement_id,
        "account": s.account.account,
        "currency": b.currency,
        **_refs(b.refs),
        "reason": b.reason,
    }
    if b.entry_index is not None:
        found["entry"] = b.entry_index + 1
    if b.detail_index is not None:
        found["detail"] = b.detail_index + 1
    if b.amount is not None:
        found["amount"] = money(b.amount, b.currency)
    if b.credit is not None:
        found["credit_debit"] = "CRDT" if b.credit else "DBIT"
    if b.operation_key is not None:
        found["operation"] = b.operation_key
    for name, units in b.figures:
        found[name] = money(units, b.currency)
    return found
