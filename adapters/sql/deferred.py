"""Writes a unit of work does not read back, queued and sent together at commit.

An inbox record, a reply in the outbox and the postings of an operation return nothing the
pipeline needs, so they need not cost a round trip each: they are queued on the connection and
executed at commit as one executemany per statement (one multi-row INSERT; on PostgreSQL,
psycopg pipelines the UPDATEs). Anything that reads those tables flushes the queue first, so a
unit of work always reads its own writes.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

_QUEUE = "tokenbridge.deferred"


def defer(connection: Connection, statement: Any, *rows: dict) -> None:
    connection.info.setdefault(_QUEUE, {}).setdefault(statement, []).extend(rows)


def flush(connection: Connection) -> None:
    """Send what is queued, statement by statement in the order first queued."""
    queued = connection.info.pop(_QUEUE, None)
    for statement, rows in (queued or {}).items():
        connection.execute(statement, rows)


def discard(connection: Connection) -> None:
    connection.info.pop(_QUEUE, None)
