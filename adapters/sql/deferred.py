"""Writes a unit of work does not read back, queued and sent together at commit.

An inbox record, a reply in the outbox and the postings of an operation return nothing the
pipeline needs, so they need not cost a round trip each: they are queued on the connection and
executed at commit as one executemany per statement (one multi-row INSERT; on PostgreSQL,
psycopg pipelines the UPDATEs). Anything that reads those tables flushes the queue first, so a
unit of work always reads its own writes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

_QUEUE = "tokenbridge.deferred"
_SENDERS = "tokenbridge.deferred.senders"


def defer(connection: Connection, statement: Any, *rows: dict) -> None:
    connection.info.setdefault(_QUEUE, {}).setdefault(statement, []).extend(rows)


def before_flush(connection: Connection, send: Callable[[], None]) -> None:
    """Have `send` called at the next flush, before the queued statements: for writes that need
    what the store returns (the ledger's operation rows give their postings a sequence)."""
    connection.info.setdefault(_SENDERS, []).append(send)


def flush(connection: Connection) -> None:
    """Send what is queued: the senders, then statement by statement in the order first queued."""
    for send in connection.info.pop(_SENDERS, ()):
        send()
    queued = connection.info.pop(_QUEUE, None)
    for statement, rows in (queued or {}).items():
        connection.execute(statement, rows)


def discard(connection: Connection) -> None:
    connection.info.pop(_SENDERS, None)
    connection.info.pop(_QUEUE, None)
