"""Corporate payments throughput, no broker: single-transaction pain.001.001.09 messages/s
through the full pipeline (read, validate, channel and own-account rules, translate, apply,
pain.002, and for a burn its outgoing pacs.008, inbox and outbox, one commit per message) on
SQLite (file) and PostgreSQL (127.0.0.1:5432). Half are transfers to a customer here, half
burns to a creditor elsewhere, each with its fiat leg.

    .venv/bin/python bench/corporates.py [--messages 1000] [--runs 3] [--postgres URL]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from adapters.logs import configure_logging  # noqa: E402
from bridge.bus import MessageBus  # noqa: E402
from bridge.config import BridgeConfig  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from pain001_builders import Block, Payment, pain001, with_app_header  # noqa: E402
from replay import on_fresh_store, seeded_store  # noqa: E402

CHANNEL, ISSUER = "NORTHWIND-TRADING", "TOKNDEFFXXX"
NORTHWIND, LUMEN = "NORTHWIND-USD-001", "LUMEN-USD-001"
FUNDING = ROOT / "samples" / "corporates" / "01-fund-northwind-usd-from-chase.xml"


def messages(count: int) -> list[bytes]:
    """Transfers to Lumen and burns to a creditor at Chase, alternately, 1.00 USD each."""
    out = []
    for i in range(count):
        payment = (Payment(amount="1.00", currency="USD", creditor_iban=None, creditor_other=LUMEN)
                   if i % 2 else
                   Payment(amount="1.00", currency="USD", creditor_iban=None, creditor_other="655021983",
                           creditor_bic="CHASUS33XXX"))
        block = Block(debtor_iban=None, debtor_other=NORTHWIND, payments=[payment])
        out.append(with_app_header(pain001([block], channel=CHANNEL), channel=CHANNEL).encode())
    return out


def run_once(url: str, batch: list[bytes]) -> float:
    store = seeded_store(url)
    pipeline = MessageBus(MessageReader(), store,
                          BridgeConfig(issuer_bic=ISSUER, corporate_senders=frozenset({CHANNEL})),
                          is_transient=store.is_transient)
    assert pipeline.handle(FUNDING.read_bytes()).verdict == "accepted"
    legs = 0
    start = time.perf_counter()
    for raw in batch:
        outcome = pipeline.handle(raw)
        assert outcome.verdict == "accepted", outcome.summary
        legs += len(outcome.emitted)
    elapsed = time.perf_counter() - start
    assert legs == len(batch) // 2
    store.engine.dispose()
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    configure_logging("warning")
    print(f"corporates, {args.messages} single-transaction pain.001.001.09 (AppHdr) per run, half "
          f"burns with a fiat leg, one unit of work each, {args.runs} runs; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for label, store in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
        rates = []
        for _ in range(args.runs):
            batch = messages(args.messages)
            rates.append(on_fresh_store(store, args.postgres, lambda url: run_once(url, batch)))
        print(f"  {label:<11} median {statistics.median(rates):7.0f} msg/s  "
              f"(min {min(rates):.0f}, max {max(rates):.0f})")


if __name__ == "__main__":
    main()
