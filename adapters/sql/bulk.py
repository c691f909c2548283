"""Multi-row writes of the hot path, sent to the driver's executemany as SQL compiled once.

`connection.execute(statement, rows)` builds every row's parameters through the compiled
statement (`construct_params`, then each value's type processing), some 10 µs a row: a unit of
work's inbox records, outbox rows, postings and audit links are thousands of rows a batch. The
SQL here is compiled by SQLAlchemy for the connection's dialect (so the same text and the same
type processing, e.g. SQLite's DateTime as text), once per statement and set of columns; each
row is then only put in the driver's parameter form, and sent with
`exec_driver_sql` (SQLAlchemy's error wrapping and events are kept: an IntegrityError is still
sqlalchemy's, a lock timeout still an OperationalError).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as the driver takes it: its SQL, and how to make a row its parameters."""
    sql: str
    names: tuple[str, ...]  # the row's keys, in the SQL's order when positional
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # (key, type processing) where any
    positional: bool

    def parameters(self, row: dict[str, Any]) -> tuple | dict:
        if self.processors:
            row = dict(row)
            for name, process in self.processors:
                row[name] = process(row[name])
        if self.positional:
            return tuple([row[name] for name in self.names])
        return {name: row[name] for name in self.names}


# By statement object: the hot path's statements are built once (module constants, or cached
# per dialect), so this holds a few dozen entries at most.
_COMPILED: dict[tuple[Any, str, tuple[str, ...]], DriverStatement] = {}


def driver_statement(dialect: Dialect, statement: Any, keys: Sequence[str]) -> DriverStatement:
    """`statement` compiled for `dialect` as an executemany (no implicit RETURNING), for rows
    with `keys` (as SQLAlchemy compiles it for such rows: an INSERT's columns, the binds of a
    statement that names its own)."""
    cache_key = (statement, dialect.name, tuple(keys))
    found = _COMPILED.get(cache_key)
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys),
                                     for_executemany=True)
        if compiled.escaped_bind_names or compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"not a plain multi-row statement: {compiled.string}")
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        processors = tuple((name, process) for name in names
                           if (process := compiled.binds[name].type.dialect_impl(dialect)
                               .bind_processor(dialect)) is not None)
        found = _COMPILED[cache_key] = DriverStatement(compiled.string, names, processors,
                                                       compiled.positional)
    return found


def execute_many(connection: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Execute `statement` once for each of `rows` (dicts with the same keys), in one
    executemany; nothing returned."""
    if not rows:
        return
    compiled = driver_statement(connection.dialect, statement, list(rows[0]))
    connection.exec_driver_sql(compiled.sql, [compiled.parameters(row) for row in rows])

