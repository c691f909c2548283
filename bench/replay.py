"""Replay throughput, no broker: single-transaction pacs.008.001.08 messages/s through the full
pipeline (read, validate, translate, apply, pacs.002, camt.054 notifications, inbox and outbox,
one commit per message) on SQLite (file) and PostgreSQL (127.0.0.1:5432). With
`--notifications both` each run is made with notifications on and off, one after the other, so
that the two are measured in the same conditions.

    .venv/bin/python bench/replay.py [--messages 2000] [--runs 3] [--postgres URL]
                                     [--per-commit N] [--notifications on|off|both]
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import create_engine, text  # noqa: E402

from adapters.logs import configure_logging  # noqa: E402
from adapters.sql.engine import create_store_engine, migrate  # noqa: E402
from adapters.sql.ledger import SqlLedgerPlugin  # noqa: E402
from adapters.sql.store import SqlStore  # noqa: E402
from bridge.accounts import parse_registry_rows  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from bridge.bus import MessageBus  # noqa: E402
from bridge.config import BridgeConfig  # noqa: E402
from builders import Tx, pacs008  # noqa: E402

ALICE, BRUNO, FATIMA = "DE82500199000417283905", "DE17500199000602517730", "FR7630004008280001058392658"


def messages(count: int) -> list[bytes]:
    """Mints, transfers and burns in a 2:1:1 mix that never runs short."""
    out = []
    for i in range(count):
        if i % 4 in (0, 1):
            tx = Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)
        elif i % 4 == 2:
            tx = Tx(amount="5.00", debtor_iban=ALICE, creditor_iban=BRUNO)
        else:
            tx = Tx(amount="1.00", debtor_iban=BRUNO, creditor_iban=FATIMA)
        out.append(pacs008([tx]).encode())
    return out


def seeded_store(url: str) -> SqlStore:
    """A migrated store with the sample registry."""
    engine = create_store_engine(url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    with (ROOT / "samples" / "accounts.csv").open(newline="") as handle, store() as uow:
        uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
        uow.commit()
    return store


def register_wallets(url: str, ibans: list[str], name: str) -> None:
    """A seeded store (`seeded_store`) with these active EUR wallets too (`w-<name>-<i>`)."""
    store = seeded_store(url)
    with store() as uow:
        uow.accounts.upsert(parse_registry_rows(
            {"account": iban, "currency": "EUR", "wallet": f"w-{name}-{i}", "status": "active",
             "kind": "wallet", "scheme": "", "issuer": ""} for i, iban in enumerate(ibans)))
        uow.commit()
    store.engine.dispose()


def run_once(url: str, batch: list[bytes], per_commit: int = 1, store: SqlStore | None = None,
             notifications: bool = True, cpu: list[float] | None = None) -> float:
    """Messages/s through the pipeline: one unit of work (commit) per message, or per
    `per_commit` messages (`handle_batch`, as the worker does with a delivery batch); with the
    camt.054 notifications (the default, as configured out of the box) or without. `cpu`, when
    given, gets this process's CPU µs per message (steadier than wall time on a shared machine;
    PostgreSQL's own CPU is not in it)."""
    store = store or seeded_store(url)
    engine = store.engine
    pipeline = MessageBus(MessageReader(max_bytes=64 << 20), store,
                          BridgeConfig(notifications=notifications), is_transient=store.is_transient)
    start, start_cpu = time.perf_counter(), time.process_time()
    if per_commit == 1:
        for raw in batch:
            assert pipeline.handle(raw).verdict == "accepted"
    else:
        for first in range(0, len(batch), per_commit):
            for outcome in pipeline.handle_batch(batch[first:first + per_commit]):
                assert outcome.verdict == "accepted", outcome
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) / len(batch) * 1e6)
    engine.dispose()
    return len(batch) / elapsed


def on_fresh_store(store: str, postgres: str, run) -> float:
    """`run(url)` on a fresh SQLite file or PostgreSQL database, dropped afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return run(f"sqlite:///{tmp}/bench.db")
    url, drop = fresh_postgres(postgres)
    try:
        return run(url)
    finally:
        drop()


def fresh_postgres(admin_url: str) -> tuple[str, callable]:
    name = f"tb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--per-commit", type=int, default=1,
                        help="messages per unit of work (the worker commits batches of 100)")
    parser.add_argument("--notifications", choices=("on", "off", "both"), default="on",
                        help="camt.054 notifications (on by default in the bridge); both: each "
                             "run with and without, alternately")
    args = parser.parse_args()
    configure_logging("warning")
    settings = {"on": (True,), "off": (False,), "both": (True, False)}[args.notifications]
    print(f"replay, {args.messages} single-transaction pacs.008.001.08 per run, "
          f"{args.per_commit} per unit of work, {args.runs} runs; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for label, store in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
        rates: dict[bool, list[float]] = {notify: [] for notify in settings}
        cpu: dict[bool, list[float]] = {notify: [] for notify in settings}
        for _ in range(args.runs):
            batch = messages(args.messages)
            for notify in settings:
                rates[notify].append(on_fresh_store(store, args.postgres, lambda url: run_once(
                    url, batch, args.per_commit, notifications=notify, cpu=cpu[notify])))
        for notify, found in rates.items():
            print(f"  {label:<11} notifications {'on ' if notify else 'off'} median "
                  f"{statistics.median(found):7.0f} msg/s  (min {min(found):.0f}, max {max(found):.0f}); "
                  f"CPU {statistics.median(cpu[notify]):5.0f} µs/msg (min {min(cpu[notify]):.0f})")


if __name__ == "__main__":
    main()
