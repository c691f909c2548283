"""The worker's pipeline phase in-process, no broker: issue 19's mixed stream (single-transaction
pacs.008.001.08 mints to 50 wallets, half in a SWIFT envelope with an AppHdr) through
`MessageBus.handle_batch` in batches of 100 (as the worker takes a delivery batch) on a fresh
SQLite file. It reports this process's CPU per message, steadier than wall time on a shared
machine, and with `--profile` the top functions by cumulative and own time (cProfile).

    .venv/bin/python bench/hotpath.py [--messages 3000] [--runs 3] [--profile] [--top 40]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from adapters.logs import configure_logging  # noqa: E402
from adapters.sql.engine import create_store_engine  # noqa: E402
from adapters.sql.ledger import SqlLedgerPlugin  # noqa: E402
from adapters.sql.store import SqlStore  # noqa: E402
from bridge.bus import MessageBus  # noqa: E402
from bridge.config import BridgeConfig  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from throughput import seed_worker_store, stream  # noqa: E402

BATCH = 100


def run(bodies: list[bytes], profile: cProfile.Profile | None = None) -> float:
    """CPU µs per message of `handle_batch` over `bodies` on a fresh, seeded SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hotpath.db"
        seed_worker_store(url)
        store = SqlStore(create_store_engine(url), SqlLedgerPlugin())
        bus = MessageBus(MessageReader(), store, BridgeConfig(), is_transient=store.is_transient)
        bus.handle_batch(bodies[:2])  # imports and caches warmed outside the measure
        start = time.process_time()
        if profile:
            profile.enable()
        for first in range(2, len(bodies), BATCH):
            for outcome in bus.handle_batch(bodies[first:first + BATCH]):
                assert not isinstance(outcome, Exception) and outcome.verdict == "accepted", outcome
        if profile:
            profile.disable()
        cpu = time.process_time() - start
        store.engine.dispose()
    return cpu / (len(bodies) - 2) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--enveloped", type=float, default=0.5, help="share in a SWIFT envelope")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    configure_logging("warning")
    bodies = stream(args.messages, args.enveloped)
    if args.profile:
        profile = cProfile.Profile()
        run(bodies, profile)
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())
        return
    figures = [run(bodies) for _ in range(args.runs)]
    print(f"handle_batch, {args.messages:,} mixed messages ({args.enveloped:.0%} enveloped), batches of "
          f"{BATCH}, SQLite: CPU per message median {statistics.median(figures):,.0f} µs "
          f"(min {min(figures):,.0f}, max {max(figures):,.0f})")


if __name__ == "__main__":
    main()
