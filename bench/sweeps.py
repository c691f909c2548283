"""Sweep throughput, no broker: one group of N member wallets (EUR, same currency as the
header) each holding an excess, zero-balanced into the header by one run (`run_sweeps`: each
member's sweep its own unit of work: read its period and balance, apply the transfer, its
camt.054s, commit), then the same N members across currencies (USD members, EUR header, PvP
through the FX positions); sweeps/s; SQLite (file) and PostgreSQL (127.0.0.1:5432).

    .venv/bin/python bench/sweeps.py [--members 500] [--postgres URL] [--sqlite-only]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal

from common import machine
from replay import fresh_postgres  # also puts tests/ on the path

from adapters.logs import configure_logging
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from bridge.fx.rates import parse_rate_csv
from bridge.notifications.notices import Notifications
from bridge.operations import MINT, TokenOperation
from bridge.sweeps.rules import SweepRule
from bridge.sweeps.service import SweepContext, run_sweeps

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
RATES = "base,quote,rate,valid_from,valid_until\nUSD,EUR,0.92,2026-11-24T00:00:00Z,2027-12-31T00:00:00Z\n"


def iban(n: int) -> str:
    """A valid German IBAN for bench account n."""
    bban = f"50019900{n:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def bank(url: str, members: int, currency: str) -> tuple[SqlStore, SweepRule]:
    engine = create_store_engine(url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin(clock=lambda: NOW), clock=lambda: NOW)
    wallets = [f"w-member-{i}" for i in range(members)]
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount(iban(0), "EUR", "w-header", group="GROUP"),
                             RegisteredAccount(iban(1), "USD", "fx-usd", kind="fx"),
                             RegisteredAccount(iban(2), "EUR", "fx-eur", kind="fx")]
                            + [RegisteredAccount(iban(10 + i), currency, w, group="GROUP")
                               for i, w in enumerate(wallets)])
        uow.ledger.apply(TokenOperation("fund-fx-eur", MINT, "EUR", 10**12, credit_wallet="fx-eur"))
        for w in wallets:
            uow.ledger.apply(TokenOperation(f"fund-{w}", MINT, currency, 12_345, credit_wallet=w))
        uow.commit()
    return store, SweepRule("bench", "w-header", tuple(wallets), Decimal("0"), at=NOW.time().replace(hour=0))


def measure(url: str, members: int, currency: str) -> dict[str, float]:
    store, rule = bank(url, members, currency)
    context = SweepContext(rates=parse_rate_csv(RATES), notifications=Notifications())
    started = time.perf_counter()
    run = run_sweeps(store, [rule], NOW, context)
    seconds = time.perf_counter() - started
    assert run.count("applied") == members, [r for r in run.results if r.result != "applied"][:3]
    store.engine.dispose()
    return {"sweeps": members, "seconds": round(seconds, 3), "sweeps_per_s": round(members / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    configure_logging("warning")
    results = {"machine": machine()}
    for currency, name in (("EUR", "same currency"), ("USD", "across currencies (PvP)")):
        with tempfile.TemporaryDirectory() as directory:
            results[f"sqlite, {name}"] = measure(f"sqlite:///{directory}/bench.db", args.members, currency)
        if not args.sqlite_only:
            url, drop = fresh_postgres(args.postgres)
            try:
                results[f"postgresql, {name}"] = measure(url, args.members, currency)
            finally:
                drop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
