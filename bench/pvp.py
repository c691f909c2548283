"""Payment-versus-payment throughput.

SQL: single-transaction USD -> EUR pacs.008.001.08 payments/s (InstdAmt, XchgRate; both legs in
one unit of work) through the full pipeline (read, validate, translate, price, apply both legs,
pacs.002, inbox and outbox), one commit per message, on SQLite (file) and PostgreSQL
(127.0.0.1:5432); next to same-currency transfers of the same size, for the price of the second
leg and the pricing.

EVM (anvil on 127.0.0.1, automine, SQLite store, 1 confirmation): PvP payments/s from
`apply_together` (each payment its own unit of work) to both legs ACSC, one chain transaction
per payment through the settlement contract, pipelined (many in flight); next to plain
transfers the same way (bench/evm.py's method).

    .venv/bin/python bench/pvp.py [--messages 2000] [--runs 3] [--postgres URL] [--evm 500]
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from adapters.logs import configure_logging  # noqa: E402
from adapters.sql.engine import create_store_engine, migrate  # noqa: E402
from adapters.sql.ledger import SqlLedgerPlugin  # noqa: E402
from adapters.sql.store import SqlStore  # noqa: E402
from builders import FiTx, Tx, pacs008, pacs009  # noqa: E402
from pvp_support import (BUYER, FATIMA, FX_EUR, ISSUER, SUPPLIER, SUPPLIER_USD, Clock,  # noqa: E402
                         pipeline, with_fx_accounts)
from replay import fresh_postgres  # noqa: E402


def funding(count: int) -> list[bytes]:
    """Enough for `count` payments: the buyer's USD (a mint), the bank's EUR position (pacs.009)."""
    usd = f"{count * 100 + 1000}.00"
    return [pacs008([Tx(amount=usd, currency="USD", debtor_iban=FATIMA, creditor_iban=BUYER)]).encode(),
            pacs008([Tx(amount=usd, currency="USD", debtor_iban=FATIMA, creditor_iban=SUPPLIER_USD)]).encode(),
            pacs009([FiTx(amount=f"{count * 100}.00", debtor_bic=ISSUER, creditor_bic=ISSUER,
                          creditor_iban=FX_EUR)], instructing_bic=ISSUER).encode()]


def payments(count: int, across: bool) -> list[bytes]:
    """`count` payments of 100.00 USD from the buyer: to the EUR supplier at 0.92 (PvP), or to a
    USD wallet (a plain transfer, the baseline)."""
    if across:
        tx = lambda: Tx(amount="92.00", currency="EUR", debtor_iban=BUYER, creditor_iban=SUPPLIER,  # noqa: E731
                        debtor_bic=ISSUER, instructed=("100.00", "USD"), xchg_rate="0.92")
    else:
        tx = lambda: Tx(amount="100.00", currency="USD", debtor_iban=BUYER,  # noqa: E731
                        creditor_iban=SUPPLIER_USD, debtor_bic=ISSUER)
    return [pacs008([tx()], instructing_bic=ISSUER).encode() for _ in range(count)]


def run_once(url: str, count: int, across: bool) -> float:
    engine = create_store_engine(url)
    migrate(engine)
    store = with_fx_accounts(_with_samples(SqlStore(engine, SqlLedgerPlugin())))
    run = pipeline(store, Clock())
    for raw in funding(count):
        assert run.handle(raw).verdict == "accepted"
    batch = payments(count, across)
    start = time.perf_counter()
    for raw in batch:
        outcome = run.handle(raw)
        assert outcome.verdict == "accepted", outcome.transactions[0].info
    elapsed = time.perf_counter() - start
    engine.dispose()
    return count / elapsed


def _with_samples(store: SqlStore) -> SqlStore:
    import csv

    from bridge.accounts import parse_registry_rows
    with (ROOT / "samples" / "accounts.csv").open(newline="") as handle, store() as uow:
        uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
        uow.commit()
    return store


def evm_rate(node, workdir: Path, count: int, across: bool) -> float:
    """Payments/s on anvil: each applied in its own unit of work, then settled pipelined."""
    from eth_account import Account

    from bridge.operations import MINT, TRANSFER, TokenOperation
    from evm import MAX_SECONDS, Bench
    bench = Bench(node, workdir, f"pvp-{across}", max_in_flight=500)
    # evm.Bench deploys EUR only: `ledger init` again deploys USD (and names the settlement)
    bench.plugin.settings = replace(bench.plugin.settings, evm_currencies="EUR,USD")
    bench.plugin.initialise(bench.store)
    buyer, supplier, fx_usd, fx_eur = (Account.create().address for _ in range(4))
    funding = [TokenOperation("fund-usd", MINT, "USD", count * 10_000, credit_wallet=buyer),
               TokenOperation("fund-eur", MINT, "EUR", count * 10_000, credit_wallet=fx_eur)]
    for op in funding:
        bench.apply(op)
    assert bench.settle_all(2, time.monotonic() + MAX_SECONDS) == 2
    start = time.perf_counter()
    for i in range(count):
        key = f"pvp-{i}"
        with bench.store() as uow:
            if across:
                outcome = uow.ledger.apply_together((
                    TokenOperation(key, TRANSFER, "USD", 10_000, debit_wallet=buyer, credit_wallet=fx_usd),
                    TokenOperation(key + "/fx", TRANSFER, "EUR", 9_200, debit_wallet=fx_eur,
                                   credit_wallet=supplier)))
            else:
                outcome = uow.ledger.apply(TokenOperation(key, TRANSFER, "USD", 10_000, debit_wallet=buyer,
                                                          credit_wallet=supplier))
            uow.commit()
        assert outcome.status == "ACSP", outcome
    legs = 2 * count if across else count
    done = bench.settle_all(legs, time.monotonic() + MAX_SECONDS)
    elapsed = time.perf_counter() - start
    assert done == legs, f"{done} of {legs} legs confirmed"
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--evm", type=int, default=500, help="payments on anvil (0: skip)")
    parser.add_argument("--skip-sql", action="store_true")
    args = parser.parse_args()
    configure_logging("warning")
    if args.evm:
        from adapters.evm.devchain import AnvilNode
        with tempfile.TemporaryDirectory() as tmp, AnvilNode() as node:
            for across in (True, False):
                rate = evm_rate(node, Path(tmp), args.evm, across)
                what = "USD->EUR PvP " if across else "USD transfer "
                print(f"  anvil       {what} {args.evm} payments, pipelined: {rate:7.0f} payments/s",
                      flush=True)
    if args.skip_sql:
        return
    print(f"PvP, {args.messages} single-transaction pacs.008.001.08 per run, one unit of work each, "
          f"{args.runs} runs; {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    for label in ("SQLite", "PostgreSQL"):
        for across in (True, False):
            rates = []
            for _ in range(args.runs):
                if label == "SQLite":
                    with tempfile.TemporaryDirectory() as tmp:
                        rates.append(run_once(f"sqlite:///{tmp}/bench.db", args.messages, across))
                else:
                    url, drop = fresh_postgres(args.postgres)
                    try:
                        rates.append(run_once(url, args.messages, across))
                    finally:
                        drop()
            what = "USD->EUR PvP " if across else "USD transfer "
            print(f"  {label:<11} {what} median {statistics.median(rates):7.0f} payments/s  "
                  f"(min {min(rates):.0f}, max {max(rates):.0f})")


if __name__ == "__main__":
    main()
