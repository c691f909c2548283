"""What came back of each payment, in the store (bridge.ports.PaymentReturns).

A return counts against its original with one conditional UPDATE (`returned + :amount <=
:limit`) on the original's row, created first if need be (INSERT .. ON CONFLICT DO NOTHING).
On PostgreSQL a concurrent unit's UPDATE of the same row waits for this unit to end and then
re-checks the condition against what it committed (READ COMMITTED), so two returns racing never
pass the original; SQLite's writers are serialised (BEGIN IMMEDIATE).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from adapters.sql import audit, statements
from adapters.sql.ledger import as_utc, utc_naive
from adapters.sql.tables import payment_returns, return_entries
from bridge.audit import RETURN
from bridge.ports import PaymentReturns, ReturnEntry


class SqlPaymentReturns(PaymentReturns):
    def __init__(self, connection: Connection, clock: Callable[[], datetime]) -> None:
        self.connection = connection
        self.clock = clock

    def returned(self, original_key: str) -> int:
        found = self.connection.execute(select(payment_returns.c.returned)
                                        .where(payment_returns.c.original_key == original_key)).scalar()
        return found or 0

    def find(self, return_key: str) -> ReturnEntry | None:
        row = self.connection.execute(select(return_entries)
                                      .where(return_entries.c.return_key == return_key)).first()
        return None if row is None else _entry(row)

    def entries(self, original_key: str) -> list[ReturnEntry]:
        rows = self.connection.execute(select(return_entries)
                                       .where(return_entries.c.original_key == original_key)
                                       .order_by(return_entries.c.returned_at, return_entries.c.return_key))
        return [_entry(r) for r in rows]

    def take(self, original_key: str, amount: int, limit: int) -> bool:
        insert = statements.insert_for(self.connection.dialect.name)(payment_returns)
        self.connection.execute(insert.values(original_key=original_key, returned=0)
                                .on_conflict_do_nothing(index_elements=["original_key"]))
        taken = self.connection.execute(
            update(payment_returns)
            .where(payment_returns.c.original_key == original_key,
                   payment_returns.c.returned + amount <= limit)
            .values(returned=payment_returns.c.returned + amount)
            .returning(payment_returns.c.returned)).first()
        return taken is not None

    def release(self, original_key: str, amount: int) -> None:
        self.connection.execute(update(payment_returns)
                                .where(payment_returns.c.original_key == original_key)
                                .values(returned=payment_returns.c.returned - amount))
        # A refused first return leaves no row behind: a refusal changes nothing.
        self.connection.execute(delete(payment_returns).where(payment_returns.c.original_key == original_key,
                                                              payment_returns.c.returned == 0))

    def record(self, entry: ReturnEntry) -> None:
        row = dict(return_key=entry.return_key, original_key=entry.original_key, currency=entry.currency,
                   amount=entry.amount, reason=entry.reason[:35], origin=entry.origin,
                   message_id=(entry.message_id or "")[:35] or None,
                   return_id=(entry.return_id or "")[:35] or None,
                   returned_at=utc_naive(entry.returned_at or self.clock()))
        self.connection.execute(return_entries.insert().values(**row))
        audit.record(self.connection, RETURN, entry.return_key, audit.certified(RETURN, row))


def _entry(row) -> ReturnEntry:
    return ReturnEntry(row.return_key, row.original_key, row.currency, row.amount, row.reason,
                       row.origin, row.message_id, row.return_id, as_utc(row.returned_at))
