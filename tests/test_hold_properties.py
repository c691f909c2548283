"""Property-based: random payments, holds, executions and voids on the SQL ledger keep the money
invariants with holds in them: supply == sum of balances, 0 <= held <= balance in every wallet,
held == what the held holds reserve, a debit never takes held tokens, every hold ends once, and
the balances are what a plain model of the same steps says."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.holds.terms import HoldEnding, HoldKind, HoldState, HoldTerms
from bridge.operations import BURN, MINT, TRANSFER, TokenOperation
from bridge.ports import APPLIED

import pytest

WALLETS = ("a", "b", "c")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
_keys = itertools.count()

step = st.one_of(
    st.tuples(st.just("mint"), st.sampled_from(WALLETS), st.integers(1, 500)),
    st.tuples(st.just("transfer"), st.sampled_from(WALLETS), st.integers(1, 500)),
    st.tuples(st.just("burn"), st.sampled_from(WALLETS), st.integers(1, 500)),
    st.tuples(st.just("hold"), st.sampled_from(WALLETS), st.integers(1, 500)),
    st.tuples(st.just("execute"), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("void"), st.integers(0, 20), st.just(0)),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('holds') / 'ledger.db'}")
    migrate(engine)
    yield SqlStore(engine, SqlLedgerPlugin(clock=lambda: NOW), clock=lambda: NOW)
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_random_holds_releases_voids_and_payments_keep_the_invariants(store, steps) -> None:
    run = next(_keys)
    wallet = {w: f"p{run}-{w}" for w in WALLETS}
    balance = {w: 0 for w in wallet.values()}
    reserved: dict[str, tuple[str, int]] = {}  # hold key -> (wallet, amount) while held
    holds: list[str] = []
    for kind, who, amount in steps:
        key = f"p{run}-{next(_keys)}"
        with store() as uow:
            if kind in ("execute", "void"):
                if not holds:
                    continue
                held = holds[who % len(holds)]
                ending = HoldEnding(HoldState.EXECUTED if kind == "execute" else HoldState.VOIDED, None, "test", NOW)
                ended = uow.ledger.end_hold(held, ending)
                assert (ended is not None) == (held in reserved)  # ends once
                if ended is not None:
                    debtor, units = reserved.pop(held)
                    if kind == "execute":
                        assert ended.result == APPLIED
                        balance[debtor] -= units
                        balance[_next(debtor, wallet)] += units
            else:
                frm = wallet[who]
                available = balance[frm] - sum(n for w, n in reserved.values() if w == frm)
                if kind == "mint":
                    op = TokenOperation(key, MINT, "EUR", amount, credit_wallet=frm)
                elif kind == "burn":
                    op = TokenOperation(key, BURN, "EUR", amount, debit_wallet=frm)
                else:
                    op = TokenOperation(key, TRANSFER, "EUR", amount, debit_wallet=frm,
                                        credit_wallet=_next(frm, wallet))
                if kind == "hold":
                    outcome = uow.ledger.hold(op, HoldTerms(HoldKind.CONDITIONAL, NOW + timedelta(days=1), "0" * 64))
                else:
                    outcome = uow.ledger.apply(op)
                fits = kind == "mint" or amount <= available
                assert (outcome.rejection is None) == fits, (kind, amount, available, outcome)
                if fits and kind == "hold":
                    reserved[key] = (frm, amount)
                    holds.append(key)
                elif fits:
                    balance[frm] += amount if kind == "mint" else -amount
                    if kind == "transfer":
                        balance[_next(frm, wallet)] += amount
            uow.commit()
        with store() as uow:
            books = {b.wallet: b for b in uow.ledger.balances()}
            supply = uow.ledger.supply().get("EUR", 0)
        assert supply == sum(b.balance for b in books.values())
        assert all(0 <= b.held <= b.balance for b in books.values())
        for w, expected in balance.items():
            found = books.get(w)
            assert (found.balance if found else 0) == expected
            assert (found.held if found else 0) == sum(n for x, n in reserved.values() if x == w)


def _next(frm: str, wallet: dict[str, str]) -> str:
    names = list(wallet.values())
    return names[(names.index(frm) + 1) % len(names)]
