"""A simulation of the partitioned bridge at a bank's peak, 20,000 payments/s (docs/scaling.md):
how payments spread over partitions, how many cross partitions, how long they wait, and what
each part costs in cores.

The model, each part a parameter:
- payments: a mix of mints, transfers and burns over `--wallets` wallets of a few currencies,
  wallets drawn with a Zipf skew (a few hot merchants take a large share);
- partitions: a currency's wallets split by range (a hash of the wallet) into `--partitions`
  ledger shards, each with its own inbound queue, one worker (a single writer: no lock waits)
  and its own ledger, inbox, outbox, audit chain and share of the supply; a payment goes to
  the partition of the wallet it debits (mints: the credited wallet's); a transfer whose
  creditor lives elsewhere commits its debit with a transit credit and an outbox message, and
  the creditor's partition applies that credit once (its inbox), later;
- a partition's worker is a batch server: it takes what has queued (up to `--batch`), then
  spends `--commit-ms` (a commit acknowledged by a synchronous standby) plus `--worker-us`
  per message; payments arrive as a Poisson stream at the partition's share of the load.
- a router ahead of the partitions reads and validates each message (the reader's share of the
  worker's CPU) and forwards it to the partition queue; the writer does the rest.
Per-message CPU of the worker, broker and database default to the figures measured here
(docs/scaling.md, one worker on PostgreSQL); --from-json reads them from bench/scaling.py's
output instead.

    .venv/bin/python bench/partitions.py [--rate 20000] [--partitions 4 8 16 32] [--seconds 5]
"""
from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CURRENCIES = {"EUR": 0.80, "USD": 0.15, "GBP": 0.05}
"""Share of the payments per currency."""
MIX = {"mint": 0.25, "transfer": 0.50, "burn": 0.25}


@dataclass(frozen=True)
class Costs:
    """CPU µs per payment of each part, and what scales them."""

    worker_us: float = 560.0  # read, validate, translate, apply, reply: one worker, measured
    broker_us: float = 270.0  # payment in and delivered, reply out and delivered: measured
    database_us: float = 220.0  # the primary's backends for the batch's statements: measured
    router_us: float = 120.0  # read and validate, find the wallet's partition (the reader's share)
    replicas: int = 3  # quorum queue replicas: each follower costs about half the leader
    standby_share: float = 0.3  # a synchronous standby replays WAL at about this share of the primary

    @property
    def writer_us(self) -> float:
        """What is left to a partition's single writer once a router has read and validated."""
        return self.worker_us - self.router_us

    def cores(self, rate: float, cross: float) -> dict[str, float]:
        """Cores at `rate` payments/s, `cross` of them with a second, cross-partition step
        (a credit message through the broker and a second, smaller unit of work, about half)."""
        steps = 1 + cross * 0.5
        hops = steps + 0.5  # the router's hop: in and delivered once more, no reply
        broker = rate * hops * self.broker_us * (1 + 0.5 * (self.replicas - 1)) / 1e6
        database = rate * steps * self.database_us / 1e6
        return {"routers": rate * self.router_us / 1e6, "writers": rate * steps * self.writer_us / 1e6,
                "broker (all replicas)": broker, "database primaries": database,
                "standbys": database * self.standby_share}


def zipf_sampler(n: int, s: float, rng: random.Random):
    """Wallet indices 0..n-1 with P(k) ~ 1/(k+1)^s."""
    weights = [1 / (k + 1) ** s for k in range(n)]
    total = sum(weights)
    cumulative, running = [], 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    return lambda: min(bisect.bisect_left(cumulative, rng.random()), n - 1)


def partition_of(currency: str, wallet: int, partitions: int) -> int:
    """The wallet-range shard of a wallet: a stable hash, so a wallet never moves by accident."""
    digest = hashlib.blake2b(f"{currency}:{wallet}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def spread(payments: int, partitions: int, wallets: int, skew: float, seed: int) -> tuple[list[float], float]:
    """Each partition's share of the payments (steps included), and the cross-partition share."""
    rng = random.Random(seed)
    draw = zipf_sampler(wallets, skew, rng)
    kinds, currencies = list(MIX), list(CURRENCIES)
    load: Counter[int] = Counter()
    cross = 0
    for _ in range(payments):
        kind = rng.choices(kinds, weights=list(MIX.values()))[0]
        currency = rng.choices(currencies, weights=list(CURRENCIES.values()))[0]
        home = partition_of(currency, draw(), partitions)
        load[home] += 1
        if kind == "transfer":
            other = partition_of(currency, draw(), partitions)
            if other != home:
                cross += 1
                load[other] += 1  # the credit, applied in the creditor's partition
    return [load[p] / payments for p in range(partitions)], cross / payments


def serve(rate: float, seconds: float, batch: int, commit_s: float, per_message_s: float,
          rng: random.Random) -> list[float]:
    """One partition's worker as a batch server under Poisson arrivals: each payment's time
    from arrival to its batch's commit (its reply then goes out)."""
    arrivals, t = [], 0.0
    while t < seconds:
        t += rng.expovariate(rate)
        arrivals.append(t)
    latencies, i, now = [], 0, 0.0
    while i < len(arrivals):
        now = max(now, arrivals[i])
        j = min(bisect.bisect_right(arrivals, now, lo=i), i + batch)
        now += commit_s + (j - i) * per_message_s
        latencies.extend(now - a for a in arrivals[i:j])
        i = j
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def simulate(args: argparse.Namespace, costs: Costs) -> list[dict]:
    rows = []
    per_message_s = costs.writer_us / 1e6
    for partitions in args.partitions:
        shares, cross = spread(args.sample, partitions, args.wallets, args.skew, args.seed)
        hottest = max(shares) * args.rate
        capacity = args.batch / (args.commit_ms / 1000 + args.batch * per_message_s)
        latencies = (serve(hottest, args.seconds, args.batch, args.commit_ms / 1000, per_message_s,
                           random.Random(args.seed)) if hottest < capacity else [])
        rows.append({"partitions": partitions, "cross_share": cross,
                     "mean_load": args.rate * (1 + cross) / partitions, "hottest_load": hottest,
                     "capacity": capacity, "utilisation": hottest / capacity,
                     "p50_ms": percentile(latencies, 0.5) * 1000 if latencies else None,
                     "p99_ms": percentile(latencies, 0.99) * 1000 if latencies else None,
                     "cores": costs.cores(args.rate, cross)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--partitions", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--wallets", type=int, default=200_000)
    parser.add_argument("--skew", type=float, default=0.8, help="Zipf exponent of the wallets drawn")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--commit-ms", type=float, default=2.3,
                        help="a batch's commit, synchronous standby included")
    parser.add_argument("--worker-us", type=float, default=Costs.worker_us)
    parser.add_argument("--broker-us", type=float, default=Costs.broker_us)
    parser.add_argument("--database-us", type=float, default=Costs.database_us)
    parser.add_argument("--router-us", type=float, default=Costs.router_us)
    parser.add_argument("--from-json", type=Path, default=None,
                        help="bench/scaling.py's scaling.json: per-message CPU of one worker's run")
    parser.add_argument("--sample", type=int, default=100_000, help="payments drawn for the spread")
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated time per partition")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    costs = Costs(args.worker_us, args.broker_us, args.database_us, args.router_us)
    if args.from_json:
        one = json.loads(args.from_json.read_text())["mix"]["1"]
        costs = Costs(*(one[f"cpu_us_per_message, {part}"]["median"]
                        for part in ("worker", "broker", "database")), args.router_us)
    print(f"{args.rate:,.0f} payments/s over {args.wallets:,} wallets (Zipf {args.skew}), batches of "
          f"{args.batch}, commit {args.commit_ms} ms; CPU per payment: router {costs.router_us:.0f} µs, "
          f"writer {costs.writer_us:.0f} µs, broker {costs.broker_us:.0f} µs, database {costs.database_us:.0f} µs")
    for row in simulate(args, costs):
        cores = ", ".join(f"{part} {n:.1f}" for part, n in row["cores"].items())
        waits = (f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms" if row["p99_ms"] is not None
                 else "overloaded: the queue grows without bound")
        print(f"{row['partitions']:>3} partitions: cross-partition {row['cross_share']:.0%}; load per partition "
              f"{row['mean_load']:,.0f}/s, hottest {row['hottest_load']:,.0f}/s of {row['capacity']:,.0f}/s "
              f"({row['utilisation']:.0%}); {waits}; cores: {cores} "
              f"(total {sum(row['cores'].values()):.0f})")


if __name__ == "__main__":
    main()
