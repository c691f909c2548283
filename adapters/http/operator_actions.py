"""The audit trail of the API: operator actions (each a link of the chain, with its token's
name) and the chain's verification."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from adapters.http.access import viewer
from adapters.http.context import ConsoleContext, context
from adapters.sql import audit as sql_audit
from adapters.sql.api_tokens import ApiToken
from adapters.sql.operator_actions import record_action, recent_actions

router = APIRouter(prefix="/api/audit", tags=["audit"], dependencies=[Depends(viewer)])


def record(console: ConsoleContext, token: ApiToken, action: str, target: str, outcome: str,
           detail: str) -> int:
    """Record what an operator did (or tried and could not), in a transaction of its own."""
    with console.store.transaction() as transaction:
        return record_action(transaction.connection, token_name=token.name, action=action,
                             target=target, outcome=outcome, detail=detail, at=console.clock())


@router.get("/actions")
def actions(console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """The latest operator actions, newest first."""
    with console.store.engine.connect() as connection:
        found = recent_actions(connection)
    return {"actions": [{"sequence": a.sequence, "at": a.acted_at.isoformat(),
                         "token": a.token_name, "action": a.action, "target": a.target,
                         "outcome": a.outcome, "detail": a.detail} for a in found]}


def verification(console: ConsoleContext) -> dict[str, Any]:
    """`audit verify --json`: intact, links, findings."""
    with console.store.engine.connect() as connection:
        length, findings = sql_audit.verify(connection)
    return {"intact": not findings, "links": length, "findings": [f.as_json() for f in findings]}


@router.get("/verify")
def verify(console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """Re-hash the chain and recompute the money from the postings, as `tokenbridge audit verify`."""
    return verification(console)
