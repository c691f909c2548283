"""Payment-versus-payment throughput: single-transaction USD -> EUR pacs.008.001.08 payments/s
(InstdAmt, XchgRate; both legs in one unit of work) through the full pipeline (read, validate,
translate, price, apply both legs, pacs.002, inbox and outbox), one commit per message, on SQLite
(file) and PostgreSQL (127.0.0.1:5432); next to same-currency transfers of the same size, for
the price of the second leg and the pricing. On EVM a payment across currencies is refused
(no settlement contract yet): `--evm` measures how fast that refusal is answered on anvil, so the
figure is not mistaken for a PvP one.

    .venv/bin/python bench/pvp.py [--messages 2000] [--runs 3] [--postgres URL]
"""
from __future__ import annotations

import argparse
import os
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    configure_logging("warning")
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
