"""Multi-row writes of the hot path, sent to the driver's executemany as SQL compiled once.

`connection.execute(statement, rows)` builds every row's parameters through the compiled
statement (`construct_params`, then each value's type processing), some 10 µs a row: a unit of
work's inbox records, outbox rows, postings and audit links are thousands of rows a batch. The
SQL here is compiled by SQLAlchemy for the connection's dialect (so the same text and the same
type processing, e.g. SQLite's DateTime as text), once per statement and set of columns; each
row is then only put in the driver's parameter form (positional: SQLite's `?`, psycopg's `%s`),
and sent with `exec_driver_sql` (SQLAlchemy's error wrapping and events are kept: an
IntegrityError is still sqlalchemy's, a lock timeout still an OperationalError).

An INSERT whose RETURNING the caller reads goes as multi-row VALUES (`insert_returning`), as
SQLAlchemy's own "insertmanyvalues" sends it: one statement per page of rows.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.engine import Dialect


_NAMED = re.compile(r"%\((\w+)\)s")  # psycopg's named placeholder, as SQLAlchemy writes it

PAGE_ROWS = 1000
"""Rows per multi-row INSERT at most (SQLAlchemy's insertmanyvalues page size)."""

PAGE_PARAMETERS = 30_000
"""Parameters per statement at most: SQLite allows 32,766, PostgreSQL 65,535."""


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as the driver takes it: its SQL with positional placeholders, the row keys
    they take in order, and the type processing of the keys that have any."""
    sql: str
    names: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, type processing)

    def parameters(self, row: dict[str, Any]) -> tuple:
        values = [row[name] for name in self.names]
        for position, process in self.processors:
            values[position] = process(values[position])
        return tuple(values)

    def values_group(self) -> tuple[str, str, str]:
        """An INSERT's SQL as (what precedes its VALUES row, the row, what follows it)."""
        start = self.sql.index(" VALUES (") + len(" VALUES ")
        depth = 0
        for end in range(start, len(self.sql)):
            depth += {"(": 1, ")": -1}.get(self.sql[end], 0)
            if depth == 0:
                break
        group = self.sql[start:end + 1]
        if group.count("?") + group.count("%s") != len(self.names):
            raise ValueError(f"parameters outside the VALUES row: {self.sql}")
        return self.sql[:start], group, self.sql[end + 1:]


# By statement object: the hot path's statements are built once (module constants, or cached
# per dialect), so this holds a few dozen entries at most.
_COMPILED: dict[tuple[Any, str, tuple[str, ...]], DriverStatement] = {}


def driver_statement(dialect: Dialect, statement: Any, keys: Sequence[str]) -> DriverStatement:
    """`statement` compiled for `dialect` as SQLAlchemy compiles it for rows with `keys` (an
    INSERT's columns, or the binds of a statement that names its own), without the implicit
    RETURNING of an executemany."""
    cache_key = (statement, dialect.name, tuple(keys))
    found = _COMPILED.get(cache_key)
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        if compiled.escaped_bind_names or compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"not a plain multi-row statement: {compiled.string}")
        if compiled.positional:
            sql, names = compiled.string, list(compiled.positiontup)
        else:  # pyformat: the same placeholders in order, as psycopg's positional %s
            names = _NAMED.findall(compiled.string)
            sql = _NAMED.sub("%s", compiled.string)
        processors = tuple((position, process) for position, name in enumerate(names)
                           if (process := compiled.binds[name].type.dialect_impl(dialect)
                               .bind_processor(dialect)) is not None)
        found = _COMPILED[cache_key] = DriverStatement(sql, tuple(names), processors)
    return found


def execute_many(connection: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Execute `statement` once for each of `rows` (dicts with the same keys), in one
    executemany; nothing returned."""
    if not rows:
        return
    compiled = driver_statement(connection.dialect, statement, list(rows[0]))
    parameters = compiled.parameters
    connection.exec_driver_sql(compiled.sql, [parameters(row) for row in rows])


def insert_returning(connection: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> list[Row]:
    """Insert `rows` (dicts with the same keys) with `statement`, an INSERT with RETURNING
    (ON CONFLICT too), and the rows it returns (in no particular order), a multi-row INSERT per
    page of rows."""
    if not rows:
        return []
    compiled = driver_statement(connection.dialect, statement, list(rows[0]))
    before, group, after = compiled.values_group()
    parameters = compiled.parameters
    page = max(1, min(PAGE_ROWS, PAGE_PARAMETERS // max(1, len(compiled.names))))
    returned: list[Row] = []
    for first in range(0, len(rows), page):
        chunk = rows[first:first + page]
        flat = [value for row in chunk for value in parameters(row)]
        sql = before + ", ".join([group] * len(chunk)) + after
        returned.extend(connection.exec_driver_sql(sql, tuple(flat)).all())
    return returned
