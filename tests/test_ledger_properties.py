"""Random programs of mints, transfers, burns and replays against the SQL ledger, checked step by
step against a simple in-memory model (SQLite: 60 programs; PostgreSQL: fewer).

After every step: the outcome is the one the model predicts (applied, replayed, AM04, AM05; AM02
for a mint beyond the ledger's maximum); the balances equal the model's, in the currency's
decimals (EUR 2, JPY 0); no balance is negative; the supply per currency equals the sum of the
balances; each applied key has exactly one operation row and two postings, and a refused key has
none.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from adapters.sql.tables import balances, operations, postings, supply
from bridge.money import LEDGER_MAX_UNITS, Amount, minor_units
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, TokenOperation
from bridge.ports import APPLIED, REPLAYED

WALLETS = ("w-alice", "w-bruno", "w-chiyo")
CURRENCIES = ("EUR", "JPY")


def amounts(currency: str):
    """Major units with the currency's decimals: cents for EUR, whole yen for JPY."""
    if currency == "EUR":
        return st.one_of(st.decimals("0.01", "20.00", places=2), st.decimals("0.01", "2000.00", places=2))
    # Now and then near the ledger's maximum (10^18 - 1 yen): a few such mints pass it (AM02).
    return st.one_of(st.integers(1, 2000), st.integers(1, 200000),
                     st.integers(10**17, LEDGER_MAX_UNITS)).map(Decimal)


@st.composite
def operations_(draw, kind: str):
    currency = draw(st.sampled_from(CURRENCIES))
    value = draw(amounts(currency))
    debit, credit = draw(st.lists(st.sampled_from(WALLETS), min_size=2, max_size=2, unique=True))
    if kind == MINT:
        debit = None
    elif kind == BURN:
        credit = None
    return (kind, currency, value, debit, credit)


mints = st.tuples(st.just("apply"), operations_(MINT))
replays = st.tuples(st.just("replay"), st.integers(0, 1000))  # an earlier operation again
steps = st.one_of(
    mints, mints, mints,
    st.tuples(st.just("apply"), operations_(TRANSFER)),
    st.tuples(st.just("apply"), operations_(TRANSFER)),
    st.tuples(st.just("apply"), operations_(BURN)),
    replays, replays,
    st.tuples(st.just("conflict"), st.integers(0, 1000), operations_(TRANSFER)),  # earlier key, other content
    st.tuples(st.just("rollback"), operations_(MINT)),  # applied, then the unit rolls back
)
programs = st.lists(steps, min_size=4, max_size=30)


@dataclass
class Model:
    balances: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    applied: dict[str, TokenOperation] = field(default_factory=dict)
    issued: list[TokenOperation] = field(default_factory=list)  # every operation tried, in order

    def expect(self, op: TokenOperation) -> str:
        if op.key in self.applied:
            return REPLAYED if self.applied[op.key].fingerprint == op.fingerprint else "AM05"
        value = Amount.from_minor(op.amount, op.currency).value
        if op.debit_wallet and self.balances[op.debit_wallet, op.currency] < value:
            return "AM04"
        issued = sum(v for (_, currency), v in self.balances.items() if currency == op.currency)
        if op.debit_wallet is None and (issued + value).scaleb(minor_units(op.currency)) > LEDGER_MAX_UNITS:
            return "AM02"
        if op.debit_wallet:
            self.balances[op.debit_wallet, op.currency] -= value
        if op.credit_wallet:
            self.balances[op.credit_wallet, op.currency] += value
        self.applied[op.key] = op
        return APPLIED


def operation(key: str, spec) -> TokenOperation:
    kind, currency, value, debit, credit = spec
    return TokenOperation(key, kind, currency, Amount(value, currency).to_minor(), debit, credit,
                          PaymentRefs(message_id=f"M-{key}", end_to_end_id=f"E-{key}"))


def reset(store: SqlStore) -> None:
    with store.engine.begin() as connection:
        for table in (postings, operations, balances, supply):
            connection.execute(delete(table))


def run_program(store: SqlStore, program) -> None:
    reset(store)
    model = Model()
    for number, step in enumerate(program):
        key = f"k{number}"
        rolled_back = step[0] == "rollback"
        if step[0] in ("apply", "rollback"):
            op = operation(key, step[1])
        elif not model.issued:
            continue
        else:
            # Mostly an applied key (replay: REPLAYED, conflict: AM05), sometimes any key tried.
            pool = list(model.applied.values()) if model.applied and step[1] % 4 else model.issued
            earlier = pool[step[1] % len(pool)]
            op = earlier if step[0] == "replay" else operation(earlier.key, step[2])
        model.issued.append(op)
        with store() as uow:
            outcome = uow.ledger.apply(op)
            if not rolled_back:
                uow.commit()
        expected = Model(defaultdict(Decimal, model.balances), dict(model.applied)).expect(op) \
            if rolled_back else model.expect(op)
        got = outcome.rejection.reason if outcome.rejection else outcome.result
        assert got == expected, (number, op)
        event(f"{step[0]} -> {got}")
        check(store, model)


def check(store: SqlStore, model: Model) -> None:
    with store() as uow:
        ledger = uow.ledger
        listed = ledger.balances()
        assert all(b.balance >= 0 for b in listed)
        held = {(b.wallet, b.currency): Amount.from_minor(b.balance, b.currency).value
                for b in listed if b.balance}
        assert held == {k: v for k, v in model.balances.items() if v}
        sums: dict[str, int] = defaultdict(int)
        for b in listed:
            sums[b.currency] += b.balance
        assert {c: v for c, v in ledger.supply().items() if v} == {c: v for c, v in sums.items() if v}
        # Each key at most once: one operation row and two postings per applied key, none else.
        connection = uow.connection
        rows = dict(connection.execute(
            select(operations.c.key, func.count(postings.c.id))
            .join(postings, postings.c.operation_seq == operations.c.seq)
            .group_by(operations.c.key)).all())
        assert rows == {key: 2 for key in model.applied}
        assert connection.execute(select(func.count()).select_from(operations)).scalar_one() == len(model.applied)
        for key, op in model.applied.items():
            assert ledger.find(key).operation.fingerprint == op.fingerprint


def _store(url: str):
    engine = create_store_engine(url)
    migrate(engine)
    yield SqlStore(engine, SqlLedgerPlugin())
    engine.dispose()


@pytest.fixture()
def sqlite_store(sqlite_url):
    yield from _store(sqlite_url)


@pytest.fixture()
def postgres_store(postgres_url):
    yield from _store(postgres_url)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=programs)
def test_random_operations_match_the_model_on_sqlite(sqlite_store, program) -> None:
    run_program(sqlite_store, program)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=programs)
def test_random_operations_match_the_model_on_postgresql(postgres_store, program) -> None:
    run_program(postgres_store, program)
