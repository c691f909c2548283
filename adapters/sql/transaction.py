"""The SQL store's transaction: what a ledger plugin is given for a unit of work
(bridge.ports.StoreTransaction), with the SQLAlchemy connection for the ledgers that keep their
books in the store's own database (SQL, and the EVM ledger's operation rows)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from adapters.sql import audit, deferred
from bridge.ports import StoreTransaction


class NotTheSqlStore(TypeError):
    """A ledger that keeps its books in the SQL store was given another store's transaction."""


class SqlTransaction(StoreTransaction):
    """A database transaction on `connection`, begun here; committed with `commit`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._root = connection.begin()
        self._committed = False
        self._before: list[Callable[[], None]] = []
        self._after: list[Callable[[], None]] = []
        self._undo: list[Callable[[], None]] = []

    def before_commit(self, hook: Callable[[], None]) -> None:
        self._before.append(hook)

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._after.append(hook)

    def after_rollback(self, hook: Callable[[], None]) -> None:
        self._undo.append(hook)

    def commit(self) -> None:
        """The hooks before, the writes queued for commit (deferred rows, audit links), the
        commit, the hooks after."""
        _run(self._before)
        deferred.flush(self.connection)
        audit.flush(self.connection)
        self._root.commit()
        self._committed = True
        self._undo.clear()
        _run(self._after)

    def rollback(self) -> None:
        """Roll back unless committed (a no-op then); the rollback hooks run once."""
        deferred.discard(self.connection)
        audit.discard(self.connection)
        if self._root.is_active:
            self._root.rollback()
        if not self._committed:
            _run(self._undo)


def _run(hooks: list[Callable[[], None]]) -> None:
    while hooks:
        hooks.pop(0)()


def sql_connection(transaction: StoreTransaction) -> Connection:
    """The connection of a SQL store's transaction, for a ledger whose books are in it."""
    if not isinstance(transaction, SqlTransaction):
        raise NotTheSqlStore(f"this ledger keeps its books in the bridge's SQL store; it was "
                             f"given a {type(transaction).__name__}")
    return transaction.connection
