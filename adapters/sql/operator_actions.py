"""Operator actions taken through the API (a re-drive, later a return, a release, a void): each
one a row naming the token that acted, and a link of the audit chain in the same transaction,
so `audit verify` finds one edited, deleted or slipped in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from adapters.sql import audit
from adapters.sql.ledger import as_utc, utc_naive
from adapters.sql.tables import operator_actions
from bridge.audit import ACTION


@dataclass(frozen=True, slots=True)
class OperatorAction:
    sequence: int
    acted_at: datetime
    token_name: str
    action: str
    target: str
    outcome: str
    detail: str


def record_action(connection: Connection, *, token_name: str, action: str, target: str,
                  outcome: str, detail: str, at: datetime) -> int:
    """Write the action and queue its audit link (chained when the transaction commits)."""
    row = dict(acted_at=utc_naive(at), token_name=token_name, action=action,
               target=target[:200], outcome=outcome, detail=detail)
    sequence = connection.execute(operator_actions.insert().values(**row)).inserted_primary_key[0]
    audit.record(connection, ACTION, str(sequence), audit.certified(ACTION, row))
    return int(sequence)


def recent_actions(connection: Connection, limit: int = 200) -> list[OperatorAction]:
    """The latest actions, newest first."""
    rows = connection.execute(select(operator_actions)
                              .order_by(operator_actions.c.seq.desc()).limit(limit))
    return [OperatorAction(r.seq, as_utc(r.acted_at), r.token_name, r.action, r.target, r.outcome,
                           r.detail) for r in rows]
