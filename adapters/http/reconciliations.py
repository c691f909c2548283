"""Reconciliation reports the bridge sent (one per camt.053 message), with the statement each
answered, and the report page (`tokenbridge reconcile --html`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse

from adapters.http.access import viewer
from adapters.http.context import ConsoleContext, context
from adapters.reports.html import render_html
from adapters.sql.console import StoredReport, stored_report, stored_reports

router = APIRouter(prefix="/api/reconciliations", tags=["reconciliation"],
                   dependencies=[Depends(viewer)])


def summary(stored: StoredReport) -> dict[str, Any]:
    """The figures of a report at a glance: per statement its account, period, closing balance,
    the ledger's figure and the amounts in flight (booked on one side, not yet on the other)."""
    report = stored.report
    return {"id": stored.message_id, "correlation_id": stored.correlation_id,
            "sent_at": stored.created_at.isoformat(), "clean": report.get("clean"),
            "breaks": len(report.get("breaks", [])), "source": stored.source,
            "statements": [{"message_id": s.get("message_id"), "statement_id": s.get("statement_id"),
                            "account": s.get("account"), "currency": s.get("currency"),
                            "from": s.get("from"), "to": s.get("to"),
                            "closing_booked": s.get("closing_booked"),
                            "ledger_measure": (s.get("ledger") or {}).get("measure"),
                            "ledger_closing": (s.get("ledger") or {}).get("closing"),
                            "in_flight": (s.get("ledger") or {}).get("in_flight"),
                            "clean": s.get("clean")}
                           for s in report.get("statements", [])]}


@router.get("")
def reports(console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    with console.store.engine.connect() as connection:
        found = stored_reports(connection)
    return {"reports": [summary(r) for r in found]}


def _stored(console: ConsoleContext, report_id: str) -> StoredReport:
    with console.store.engine.connect() as connection:
        found = stored_report(connection, report_id)
    if found is None:
        raise HTTPException(404, f"no reconciliation report {report_id}")
    return found


@router.get("/{report_id}")
def report(report_id: str, console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """The whole report (as `reconcile --json`) and its summary."""
    stored = _stored(console, report_id)
    return {**summary(stored), "report": stored.report}


@router.get("/{report_id}/html", response_class=HTMLResponse)
def report_page(report_id: str, console: ConsoleContext = Depends(context)) -> HTMLResponse:
    """The report as the self-contained HTML page `reconcile --html` writes."""
    stored = _stored(console, report_id)
    shown = dict(stored.report)
    source = stored.source or {}
    shown["statements"] = [{**s, "source": s.get("source") or
                            f"{source.get('message_type') or 'camt.053'} {source.get('message_id') or s.get('message_id')} "
                            f"from {source.get('sender') or '?'}"} for s in shown.get("statements", [])]
    return HTMLResponse(render_html(shown))
