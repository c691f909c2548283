"""How cost grows: with the transactions in one message (1, 10, 100, 1,000), and with the size
of the ledger the pipeline writes to (10^4, 10^5, 10^6 postings already there)."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from adapters.sql.tables import operations, postings  # noqa: E402
from builders import Tx, pacs008  # noqa: E402
from common import spread  # noqa: E402
from replay import ALICE, FATIMA, messages, on_fresh_store, run_once, seeded_store  # noqa: E402
from validation import rate  # noqa: E402

from bridge.iso.reader import MessageReader  # noqa: E402


def mint_message(transactions: int) -> bytes:
    return pacs008([Tx(amount=f"{1 + i % 90}.00", debtor_iban=FATIMA, creditor_iban=ALICE)
                    for i in range(transactions)]).encode()


def per_message_size(sizes: tuple[int, ...], runs: int, store: str, postgres: str,
                     seconds: float) -> list[dict]:
    """For each size: the reader's and the pipeline's (replay, one commit per message)
    microseconds per transaction."""
    rows = []
    reader = MessageReader(max_bytes=64 << 20)
    for size in sizes:
        message = mint_message(size)
        read_rates = [rate(reader.read, message, seconds) for _ in range(runs)]
        count = max(3, min(300, 3000 // size))

        def replay(url: str) -> float:
            return run_once(url, [mint_message(size) for _ in range(count)])
        replay_rates = [on_fresh_store(store, postgres, replay) for _ in range(runs)]
        rows.append({"transactions": size, "bytes": len(message),
                     "read_us_per_tx": spread([1e6 / (r * size) for r in read_rates]),
                     "pipeline_us_per_tx": spread([1e6 / (r * size) for r in replay_rates])})
    return rows


def prefill(url: str, count: int) -> None:
    """`count` postings (count/2 transfers) straight into the ledger's tables, as history."""
    store = seeded_store(url)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None)
    with store.engine.begin() as connection:
        first = 1
        for chunk in range(0, count // 2, 20_000):
            n = min(20_000, count // 2 - chunk)
            connection.execute(operations.insert(), [dict(
                seq=first + i, key=f"hist:{first + i}", kind="transfer", currency="EUR", amount=100,
                debit_wallet="w-hist-a", credit_wallet="w-hist-b", fingerprint="0" * 64,
                status="ACSC", message_id=f"HIST-{first + i}", applied_at=start + timedelta(seconds=i))
                for i in range(n)])
            connection.execute(postings.insert(), [row for i in range(n) for row in (
                dict(operation_seq=first + i, holder="w-hist-a", counterparty="w-hist-b",
                     currency="EUR", amount=-100, posted_at=start + timedelta(seconds=i)),
                dict(operation_seq=first + i, holder="w-hist-b", counterparty="w-hist-a",
                     currency="EUR", amount=100, posted_at=start + timedelta(seconds=i)))])
            first += n
        if connection.dialect.name == "postgresql":  # seqs were given: move the sequence on
            connection.execute(text("SELECT setval(pg_get_serial_sequence('operations', 'seq'), "
                                    "(SELECT max(seq) FROM operations))"))
    store.engine.dispose()


def ledger_size(sizes: tuple[int, ...], runs: int, store: str, postgres: str, count: int,
                per_commit: int) -> list[dict]:
    """Replay messages/s (batched as the worker does) into a ledger already holding `size`
    postings."""
    rows = []
    for size in sizes:
        rates = []
        for _ in range(runs):
            def replay(url: str) -> float:
                prefill(url, size)
                return run_once(url, messages(count), per_commit, store=seeded_store(url))
            rates.append(on_fresh_store(store, postgres, replay))
        rows.append({"postings": size, "messages_per_second": spread(rates)})
        print(f"    ledger of {size:,} postings: {rows[-1]['messages_per_second']['median']:,.0f} msg/s",
              flush=True)
    return rows


if __name__ == "__main__":
    start = time.perf_counter()
    print(per_message_size((1, 10), 1, "sqlite", "", 0.5))
    print(ledger_size((10_000,), 1, "sqlite", "", 500, 100), time.perf_counter() - start)
