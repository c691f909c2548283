"""Health at a glance: the broker's queues and consumers, the outbox lag, the EVM settlement
backlog, the last reconciliation and the audit trail's verification."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from adapters.http.access import viewer
from adapters.http.context import ConsoleContext, context
from adapters.http.operator_actions import verification
from adapters.http.reconciliations import summary
from adapters.rabbitmq.channel import CONNECTION_ERRORS, redacted_url
from adapters.sql.console import outbox_lag, settlement_backlog, stored_reports

router = APIRouter(prefix="/api/health", tags=["health"], dependencies=[Depends(viewer)])


@router.get("")
def health(audit: bool = True, console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """`audit=false` leaves the audit verification out (it re-reads the whole store)."""
    now = console.clock()
    with console.store.engine.connect() as connection:
        lag = outbox_lag(connection)
        backlog = settlement_backlog(connection)
        last = stored_reports(connection, limit=1)
    return {
        "checked_at": now.isoformat(),
        "broker": _broker(console),
        "outbox": {"backlog": lag.backlog,
                   "oldest_queued_at": lag.oldest_queued_at and lag.oldest_queued_at.isoformat(),
                   "lag_seconds": None if lag.oldest_queued_at is None
                   else max(0.0, round((now - lag.oldest_queued_at).total_seconds(), 1))},
        "settlement": {"ledger": console.ledger_name, **(
            backlog if console.ledger_name == "evm" else
            {"unfinal": 0, "unmined": 0, "note": "the SQL ledger settles when it answers"})},
        "last_reconciliation": summary(last[0]) if last else None,
        "audit": verification(console) if audit else None,
    }


def _broker(console: ConsoleContext) -> dict[str, Any]:
    shown = redacted_url(console.broker.url)
    try:
        depths = console.broker.queue_depths()
    except CONNECTION_ERRORS as error:
        return {"url": shown, "reachable": False, "error": type(error).__name__, "queues": []}
    return {"url": shown, "reachable": True,
            "queues": [{"queue": d.queue, "messages": d.messages, "consumers": d.consumers}
                       for d in depths]}
