"""What the operations console reads from the store besides the ports: the reconciliation
reports the bridge sent (kept in the outbox, as every message it sends), the outbox lag, and
the EVM settlement backlog."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from adapters.evm.settlement.queries import COUNT_IN_FLIGHT, COUNT_UNFINAL
from adapters.sql.ledger import as_utc
from adapters.sql.tables import inbox, outbox
from bridge.reconciliation.handler import REPORT_MESSAGE_TYPE

MAX_REPORTS = 200
"""Reports listed (the newest); older ones stay in the outbox and can be opened by id."""


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A reconciliation report as sent on `tokenbridge.out`, with the statement it answered."""

    message_id: str
    correlation_id: str | None  # the statement message's BizMsgIdr or MsgId
    created_at: datetime
    report: dict[str, Any]
    source: dict[str, Any] | None  # the camt.053 received: MsgId, sender, when, digest


def stored_reports(connection: Connection, limit: int = MAX_REPORTS) -> list[StoredReport]:
    rows = connection.execute(select(outbox).where(outbox.c.message_type == REPORT_MESSAGE_TYPE)
                              .order_by(outbox.c.seq.desc()).limit(limit)).all()
    return [_report(connection, r) for r in rows]


def stored_report(connection: Connection, message_id: str) -> StoredReport | None:
    row = connection.execute(select(outbox).where(outbox.c.message_type == REPORT_MESSAGE_TYPE,
                                                  outbox.c.message_id == message_id)).first()
    return None if row is None else _report(connection, row)


def _report(connection: Connection, row) -> StoredReport:
    report = json.loads(row.body)
    return StoredReport(row.message_id, row.correlation_id, as_utc(row.created_at), report,
                        _source(connection, row.correlation_id))


def _source(connection: Connection, correlation_id: str | None) -> dict[str, Any] | None:
    """The statement message the report answered, found in the inbox by its id."""
    if not correlation_id:
        return None
    row = connection.execute(
        select(inbox.c.digest, inbox.c.message_type, inbox.c.message_id, inbox.c.sender,
               inbox.c.received_at, inbox.c.verdict)
        .where((inbox.c.business_message_id == correlation_id) | (inbox.c.message_id == correlation_id))
        .order_by(inbox.c.received_at.desc())).first()
    if row is None:
        return None
    return {"message_id": row.message_id, "message_type": row.message_type, "sender": row.sender,
            "received_at": as_utc(row.received_at).isoformat(), "digest": row.digest,
            "verdict": row.verdict}


@dataclass(frozen=True, slots=True)
class OutboxLag:
    backlog: int  # messages not yet confirmed by the broker
    oldest_queued_at: datetime | None


def outbox_lag(connection: Connection) -> OutboxLag:
    count, oldest = connection.execute(select(func.count(), func.min(outbox.c.created_at))
                                       .where(outbox.c.published_at.is_(None))).one()
    return OutboxLag(count, None if oldest is None else as_utc(oldest))


def settlement_backlog(connection: Connection) -> dict[str, int]:
    """EVM operations not final yet: planned or submitted, and of those, sent but unmined."""
    return {"unfinal": connection.execute(COUNT_UNFINAL).scalar_one(),
            "unmined": connection.execute(COUNT_IN_FLIGHT).scalar_one()}
