"""Workers side by side on one PostgreSQL: messages/s with 1, 2 and 4 `tokenbridge worker`
processes (a backlog through the local RabbitMQ, bench/worker.py's run), and where they wait:
PostgreSQL's own view of its backends, sampled every few ms during each run, says how many
were waiting for a lock and on which statement (the audit chain's head row, a currency's
supply row, a wallet's balance row).

    .venv/bin/python bench/scaling.py [--messages 4000] [--runs 3] [--workers 1 2 4]
    .venv/bin/python bench/scaling.py --commits     (a commit, with and without a synchronous standby)

Figures in docs/scaling.md; JSON in docs/bench/scaling.json (--out).
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from common import machine, spread  # noqa: E402
from builders import Tx, pacs008  # noqa: E402
from replay import ALICE, FATIMA, fresh_postgres, messages, register_wallets  # noqa: E402
from worker import POSTGRES, run_once  # noqa: E402

SAMPLE_S = 0.005
"""How often the backends are sampled: a batch's commit holds its locks for a few ms."""
HOT_ROWS = {"audit_head": "audit chain head", "supply": "currency supply", "balances": "wallet balance",
            "inbox": "inbox claim", "operations": "operation key"}
"""What a waiting statement waits for, by the table it names (first match)."""


class LockSampler:
    """Samples pg_stat_activity for one database until stopped: backends running a statement,
    and those among them waiting for a lock, by the hot row their statement touches."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.samples = 0
        self.active = 0
        self.waiting: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             autocommit=True) as connection:
            while not self._stop.is_set():
                rows = connection.execute(
                    "SELECT wait_event_type, query FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND backend_type = 'client backend'",
                    (self.database,)).fetchall()
                if rows:  # only while the workers are at it
                    self.samples += 1
                    self.active += len(rows)
                    for wait_type, query in rows:
                        if wait_type == "Lock":
                            self.waiting[_hot_row(query)] += 1
                time.sleep(SAMPLE_S)

    def figures(self) -> dict:
        n = max(self.samples, 1)
        return {"busy_backends": self.active / n, "waiting_for_locks": sum(self.waiting.values()) / n,
                **{f"waiting on {name}": self.waiting[name] / n for name in sorted(self.waiting)}}


def _hot_row(query: str) -> str:
    lowered = query.lower()
    return next((name for table, name in HOT_ROWS.items() if table in lowered), "other")


def mints(count: int) -> list[bytes]:
    """Mints only, all to one wallet: the issuance side of every payment (supply, audit head)."""
    return [pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
            for _ in range(count)]


SPREAD_WALLETS = 64


def spread_ibans() -> list[str]:
    from schwifty import IBAN
    return [str(IBAN.generate("DE", bank_code="50019900", account_code=f"{7000 + i:010d}"))
            for i in range(SPREAD_WALLETS)]


def spread_mints(count: int) -> list[bytes]:
    """Mints only, over 64 wallets in turn: no hot wallet, only the rows every mint shares."""
    ibans = spread_ibans()
    return [pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ibans[i % len(ibans)])]).encode()
            for i in range(count)]


def register_spread_wallets(url: str) -> None:
    register_wallets(url, spread_ibans(), "spread")


WORKLOADS = {"mix": messages, "mints": mints, "spread": spread_mints}
"""mix: bench/replay.py's 2:1:1 mints, transfers and burns among three wallets (hot wallets);
mints: issuance only, to one wallet; spread: issuance only, to 64 wallets."""


def run(workers: int, count: int, workload: str) -> dict:
    url, drop = fresh_postgres(POSTGRES)
    try:
        if workload == "spread":
            register_spread_wallets(url)
        with LockSampler(url.rsplit("/", 1)[1]) as sampler:
            got = run_once(url, workers, count, bodies=WORKLOADS[workload](count))
        return {**got, **sampler.figures()}
    finally:
        drop()


def commit_latency(commits: int = 500) -> dict:
    """ms per commit of a one-row insert on a primary of tests/cluster/postgres.py: committed
    locally only, and acknowledged by its synchronous standby (what a batch's commit costs more
    in a replicated deployment)."""
    from statistics import median

    from cluster.postgres import StandbyPair
    out = {}
    with StandbyPair() as pair:
        with psycopg.connect(f"host=127.0.0.1 port={pair.primary.port} user=postgres dbname={pair.database}",
                             autocommit=True) as connection:
            connection.execute("CREATE TABLE t (n bigint)")
            for mode in ("local", "on"):
                connection.execute(f"SET synchronous_commit = {mode}")
                times = []
                for n in range(commits):
                    started = time.perf_counter()
                    connection.execute("INSERT INTO t VALUES (%s)", (n,))
                    times.append(time.perf_counter() - started)
                out[f"commit_ms, synchronous_commit={mode}"] = median(times) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench")
    parser.add_argument("--commits", action="store_true", help="only the commit latency, with a standby")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    args = parser.parse_args()
    if args.commits:
        for key, value in commit_latency().items():
            print(f"{key}: {value:.2f}")
        return
    results = {"machine": machine(), "messages": args.messages}
    for workload, workers in ((w, n) for w in args.workloads for n in args.workers):
        runs = [run(workers, args.messages, workload) for _ in range(args.runs)]
        figures = {key: spread([r.get(key, 0.0) for r in runs]) for key in set().union(*runs)}
        results.setdefault(workload, {})[str(workers)] = figures
        waits = ", ".join(f"{k.split(' on ')[1]} {v['median']:.2f}" for k, v in sorted(figures.items())
                          if k.startswith("waiting on"))
        print(f"{workload:<5} {workers} worker(s): {figures['rate']['median']:6.0f} msg/s (min {figures['rate']['min']:.0f}, "
              f"max {figures['rate']['max']:.0f}); backends busy {figures['busy_backends']['median']:.2f}, "
              f"waiting for a lock {figures['waiting_for_locks']['median']:.2f} ({waits or 'none'}); "
              f"cores busy {figures['cpu_busy_cores']['median']:.2f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
