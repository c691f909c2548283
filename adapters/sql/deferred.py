"""Writes a unit of work does not read back, queued and sent together at commit.

An inbox record, a reply in the outbox and the postings of an operation return nothing the
pipeline needs, so they need not cost a round trip each: they are queued on the connection and
executed at commit as one executemany per statement (adapters.sql.bulk: SQL compiled once,
rows straight to the driver; on PostgreSQL, psycopg pipelines them). Anything that reads those
tables flushes the queue first, so a unit of work always reads its own writes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from adapters.sql import bulk

_QUEUE = "tokenbridge.deferred"
_SENDERS = "tokenbridge.deferred.senders"


def defer(connection: Connection, statement: Any, *rows: dict) -> None:
    """Queue `rows` of `statement` (built once, no RETURNING; rows of one statement have the
    same keys) for the next flush."""
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
        bulk.execute_many(connection, statement, rows)


def discard(connection: Connection) -> None:
    connection.info.pop(_SENDERS, None)
    connection.info.pop(_QUEUE, None)
