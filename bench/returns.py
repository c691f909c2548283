"""Returns throughput next to pacs.008, no broker: single-transaction pacs.004.001.09 messages/s
through the full pipeline (read, validate, find the original in the inbox and re-read it,
reverse it on the ledger, pacs.002, inbox and outbox, one commit per message), after the same
number of pacs.008.001.08 mints, timed in the same run on the same store; SQLite (file) and
PostgreSQL (127.0.0.1:5432). Half the returns name their payment by UETR, half by MsgId and
EndToEndId; each returns 40.00 of a 100.00 mint.

    .venv/bin/python bench/returns.py [--messages 1000] [--runs 3] [--postgres URL] [--sqlite-only]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

from common import machine, spread
from replay import fresh_postgres, seeded_store  # also puts tests/ on the path (builders)

from adapters.logs import configure_logging
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.iso.reader import MessageReader
from builders import ReturnTx, Tx, pacs004, pacs008

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"


def workload(count: int) -> tuple[list[bytes], list[bytes]]:
    """`count` mints of 100.00 to Alice, and a return of 40.00 of each."""
    payments, returns = [], []
    for i in range(count):
        tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
        msg_id = f"PAY-{i}"
        payments.append(pacs008([tx], msg_id=msg_id).encode())
        named = (dict(uetr=tx.uetr) if i % 2 else dict(msg_id=msg_id, end_to_end_id=tx.end_to_end_id))
        returns.append(pacs004([ReturnTx(amount="40.00", **named)], msg_id=f"RTR-{i}").encode())
    return payments, returns


def run_once(url: str, count: int) -> tuple[float, float]:
    """(pacs.008 msg/s, pacs.004 msg/s) on a fresh store at `url`."""
    store = seeded_store(url)
    bus = MessageBus(MessageReader(), store, BridgeConfig(issuer_bic="TOKNDEFFXXX"),
                     is_transient=store.is_transient)
    payments, returns = workload(count)
    rates = []
    for batch in (payments, returns):
        start = time.perf_counter()
        for raw in batch:
            outcome = bus.handle(raw)
            assert outcome.verdict == "accepted", outcome.summary
        rates.append(len(batch) / (time.perf_counter() - start))
    with store() as uow:
        assert uow.ledger.supply() == {"EUR": count * 6000}
    store.engine.dispose()
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    configure_logging("warning")
    results: dict[str, dict] = {}
    for label in ("SQLite",) + (() if args.sqlite_only else ("PostgreSQL",)):
        runs = []
        for _ in range(args.runs):
            if label == "SQLite":
                with tempfile.TemporaryDirectory() as tmp:
                    runs.append(run_once(f"sqlite:///{tmp}/bench.db", args.messages))
            else:
                url, drop = fresh_postgres(args.postgres)
                try:
                    runs.append(run_once(url, args.messages))
                finally:
                    drop()
        results[label] = {"pacs.008": spread([r[0] for r in runs]), "pacs.004": spread([r[1] for r in runs])}
        print(f"{label:<11} pacs.008 median {results[label]['pacs.008']['median']:6.0f} msg/s   "
              f"pacs.004 median {results[label]['pacs.004']['median']:6.0f} msg/s  "
              f"({args.messages} each, {args.runs} runs)")
    print(json.dumps({"machine": machine(), "messages": args.messages, "results": results}, indent=1))


if __name__ == "__main__":
    main()
