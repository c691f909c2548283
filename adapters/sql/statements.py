"""The hot path's statements, built once per dialect and executed with parameters.

Building a Core statement with `.values(...)`/`.where(x == value)` on every call costs more than
running it (coercing each value into a bind parameter, then computing the cache key): about
0.2 ms a statement, 2 ms of a 2.5 ms message before these. A statement built once, with named
bind parameters, is compiled once and only executed afterwards.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import TypeVar

from sqlalchemy import Column, ColumnElement, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adapters.sql.tables import accounts, balances, inbox, operations, outbox, postings, supply

_HALF = 2**32
"""Exact sums split each value in two halves of 32 bits (see exact_sum)."""


def insert_for(dialect: str):
    """The dialect's INSERT, which has ON CONFLICT."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


@cache
def claim_inbox(dialect: str):
    """INSERT inbox rows unless their digest exists; RETURNING the digests claimed (executed
    with many rows: one multi-row INSERT)."""
    return (insert_for(dialect)(inbox).on_conflict_do_nothing(index_elements=["digest"])
            .returning(inbox.c.digest))


@cache
def add_to_balance(dialect: str, column: Column):
    """balance += :amount on (:wallet, :currency), creating the row."""
    statement = insert_for(dialect)(column.table).values(
        wallet=bindparam("wallet"), currency=bindparam("currency"),
        **{column.name: bindparam("amount")})
    return statement.on_conflict_do_update(
        index_elements=["wallet", "currency"],
        set_={column.name: column + statement.excluded[column.name]})


@cache
def shift_within(dialect: str, column: Column):
    """column += :amount on the row of the table's primary key (created at :amount), only where
    the value before lies in [:floor, :ceiling]: the limits less :amount, computed by the caller
    so that the database never computes beyond its integers. RETURNING the new value, so no
    row means refused (an upsert's rowcount is not reliable on every driver)."""
    table = column.table
    keys = [c.name for c in table.primary_key]
    statement = insert_for(dialect)(table).values(
        **{k: bindparam(k) for k in keys}, **{column.name: bindparam("amount")})
    return statement.on_conflict_do_update(
        index_elements=keys, set_={column.name: column + statement.excluded[column.name]},
        where=and_(column >= bindparam("floor"), column <= bindparam("ceiling"))).returning(column)


def exact_sum(column: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """SUM(column) as two sums that cannot overflow, to add up in Python (`combined`).

    SQLite's SUM of integers fails on an overflow of any partial sum, in whatever order it
    adds (PostgreSQL's is numeric, exact); a total in range may have partial sums beyond it.
    column = high * 2^32 + low, with |high| < 2^31 and |low| < 2^33 (integer division
    truncates on both), so neither sum can overflow below a billion rows."""
    high = column // _HALF  # SQL integer division; low is what it leaves, whatever its rounding
    return func.sum(high), func.sum(column - high * _HALF)


def combined(high, low) -> int:
    """The exact total of an `exact_sum` pair (Decimal on PostgreSQL, int on SQLite)."""
    return int(high or 0) * _HALF + int(low or 0)


@cache
def take_from_balance(column: Column):
    """balance -= :amount where the balance covers it (rowcount 0: it does not)."""
    table = column.table
    return (update(table)
            .where(and_(table.c.wallet == bindparam("w"), table.c.currency == bindparam("c"),
                        column >= bindparam("a")))
            .values({column.name: column - bindparam("a")}))


LOCK_BALANCES = (select(balances.c.wallet, balances.c.currency, balances.c.balance, balances.c.held)
                 .where(and_(balances.c.wallet.in_(bindparam("wallets", expanding=True)),
                             balances.c.currency.in_(bindparam("currencies", expanding=True))))
                 .order_by(balances.c.wallet, balances.c.currency).with_for_update())
CHANGE_BALANCE = (update(balances)
                  .where(and_(balances.c.wallet == bindparam("w"), balances.c.currency == bindparam("c")))
                  .values(balance=balances.c.balance + bindparam("n")))
READ_SUPPLY = (select(supply.c.currency, supply.c.supply)
               .where(supply.c.currency.in_(bindparam("currencies", expanding=True))))
LOWER_SUPPLY = (update(supply).where(supply.c.currency == bindparam("c"))
                .values(supply=supply.c.supply + bindparam("n")))
FIND_OPERATIONS = select(operations).where(operations.c.key.in_(bindparam("keys", expanding=True)))
ADD_OPERATIONS = operations.insert().returning(operations.c.key, operations.c.seq)
FIND_INBOX = select(inbox).where(inbox.c.digest == bindparam("d"))
RECORD_INBOX = update(inbox).where(inbox.c.digest == bindparam("d")).values(
    {c.name: bindparam(c.name) for c in inbox.c if c.name != "digest"})
ADD_OUTBOX = outbox.insert()
ADD_POSTINGS = postings.insert()
FIND_OUTBOX = select(outbox).where(outbox.c.message_id == bindparam("m"))
FIND_ACCOUNT = select(accounts).where(accounts.c.account == bindparam("a"))
FIND_ACCOUNTS = select(accounts).where(accounts.c.account.in_(bindparam("accounts", expanding=True)))
WALLET_ACCOUNTS = (select(accounts).where(accounts.c.wallet == bindparam("w"),
                                          accounts.c.currency == bindparam("c"))
                   .order_by((accounts.c.status != "active"), accounts.c.account).limit(1))


IN_LIST_SIZE = 500
"""Values in one `IN (...)` read at most: well within every driver's parameter limit."""


T = TypeVar("T")


def chunks(items: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`: the IN lists of a set read, the rows of a batched write."""
    for first in range(0, len(items), size):
        yield items[first:first + size]
