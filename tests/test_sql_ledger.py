"""The SQL ledger adapter against the Ledger contract, on SQLite and on the real PostgreSQL,
plus what only the SQL schema guarantees."""
from __future__ import annotations

import pytest
from ledger_contract import ALICE, LedgerContract, burn, mint, transfer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from adapters.sql.tables import balances, operations, postings


class TestSqlLedger(LedgerContract):
    """Runs once per `store_url` parameter: sqlite and postgresql."""

    @pytest.fixture()
    def unit_of_work(self, store, clock):
        return SqlStore(store.engine, SqlLedgerPlugin(clock=clock), clock=clock)

    def test_every_operation_has_two_postings_that_balance(self, unit_of_work) -> None:
        self.apply(unit_of_work, mint(1000), transfer(300), burn(100), transfer(5000))
        with unit_of_work() as uow:
            rows = uow.connection.execute(
                select(postings.c.operation_seq, func.count(), func.sum(postings.c.amount))
                .group_by(postings.c.operation_seq)).all()
            assert uow.connection.execute(select(func.count()).select_from(operations)).scalar_one() == 3
        assert sorted((count, int(total)) for _, count, total in rows) == [(2, 0)] * 3

    def test_the_schema_refuses_negative_balances_and_reused_keys(self, unit_of_work) -> None:
        op = mint(10)
        self.apply(unit_of_work, op)
        with unit_of_work() as uow, pytest.raises(IntegrityError):
            uow.connection.execute(update(balances).values(balance=-1))
        with unit_of_work() as uow:
            row = dict(uow.connection.execute(select(operations)).mappings().one())
            row.pop("seq")
            with pytest.raises(IntegrityError):
                uow.connection.execute(operations.insert().values(**row))
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 10}

    def test_times_are_stored_as_naive_utc(self, store) -> None:
        from datetime import datetime, timedelta, timezone
        local = datetime(2026, 11, 24, 12, 30, tzinfo=timezone(timedelta(hours=2)))
        zoned = SqlStore(store.engine, SqlLedgerPlugin(clock=lambda: local))
        self.apply(zoned, mint(10))
        with zoned() as uow:
            stored = uow.connection.execute(select(postings.c.posted_at)).scalars().all()
            applied = uow.ledger.find(uow.ledger.journal()[0].operation_key).applied_at
        assert stored == [datetime(2026, 11, 24, 10, 30)] * 2
        assert applied == local


def test_store_tells_transient_errors_from_bugs() -> None:
    """A database restart surfaces as OperationalError or, mid-transaction, PendingRollbackError:
    both are retried. Constraint violations and plain bugs are not."""
    from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError

    from adapters.sql.store import SqlStore
    assert SqlStore.is_transient(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert SqlStore.is_transient(PendingRollbackError("Can't reconnect until invalid transaction is rolled back"))
    assert not SqlStore.is_transient(IntegrityError("INSERT", {}, Exception("unique")))
    assert not SqlStore.is_transient(ValueError("a bug"))
