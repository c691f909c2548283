"""The one benchmark command: every figure of docs/performance.md, in one run, with the
machine it ran on. Prints a table; writes JSON, a Markdown table and the growth curves (SVG).

    .venv/bin/python bench/run.py [--quick] [--only SECTION ...] [--out docs/bench]

Sections: validation, replay, end-to-end (with the naive pipeline and paced latency),
prototypes (issue 19: the worker beside a bare and a naive prototype on one preloaded mixed
stream, and the bus's in-process CPU per message), reconcile, growth. Each figure is the median of --runs runs (min and max kept); needs the local
PostgreSQL and RabbitMQ for replay/end-to-end/growth (127.0.0.1, as the tests).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from adapters.logs import configure_logging  # noqa: E402
from common import machine, spread  # noqa: E402
from growth import ledger_size, per_message_size  # noqa: E402
from plot import growth_svg  # noqa: E402
from replay import messages, on_fresh_store, run_once  # noqa: E402
from validation import message_of, validation_rates  # noqa: E402
from worker import POSTGRES, cpu_line, measure  # noqa: E402

SECTIONS = ("validation", "replay", "end-to-end", "prototypes", "reconcile", "growth")
STORES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def say(text: str) -> None:
    print(text, flush=True)


def validation(args) -> dict:
    """Messages/s on one core (this process pinned to it)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    out = {}
    for size in (1, 100):
        runs = [validation_rates(message_of(size), args.seconds) for _ in range(args.runs)]
        out[f"{size}-transaction"] = {name: spread([r[name] for r in runs]) for name in runs[0]}
        ceiling = out[f"{size}-transaction"]["raw lxml parse + XMLSchema.validate"]["median"]
        for name, figures in out[f"{size}-transaction"].items():
            say(f"  {size:>3}-tx  {name:<44} {figures['median']:>9,.0f} msg/s  "
                f"({ceiling / figures['median']:5.2f}x the ceiling's time)")
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return out


def replay(args) -> dict:
    """Replay on each store, one commit per message and 100 per commit; with the camt.054
    notifications (the default) and, alternately in the same runs, without (their cost)."""
    out = {}
    for store, label in STORES.items():
        for per_commit in (1, 100):
            rates: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.runs):
                batch = messages(args.replay_messages)
                for notify in rates:
                    rates[notify].append(on_fresh_store(store, args.postgres, lambda url: run_once(
                        url, batch, per_commit, notifications=notify)))
            key = f"{store}, {'one commit per message' if per_commit == 1 else f'{per_commit} messages per commit'}"
            out[key], out[f"{key}, notifications off"] = spread(rates[True]), spread(rates[False])
            for name, notify in ((key, True), (f"{key}, notifications off", False)):
                say(f"  {label:<10} {key.split(', ')[1]:<26} notifications {'on ' if notify else 'off'} "
                    f"{out[name]['median']:7,.0f} msg/s (min {out[name]['min']:,.0f}, max {out[name]['max']:,.0f})")
    return out


def end_to_end(args) -> dict:
    out = {"throughput": {}, "naive": {}, "paced": {}}
    for store, label in STORES.items():
        for workers in (1, 2):
            got = measure(store, workers, args.e2e_messages, args.runs, postgres=args.postgres)
            out["throughput"][f"{store}, {workers} worker(s)"] = got
            say(f"  {label:<10} {workers} worker(s), backlog  {got['rate']['median']:7,.0f} msg/s "
                f"(min {got['rate']['min']:,.0f}, max {got['rate']['max']:,.0f}); p50 "
                f"{got['p50_ms']['median']:,.0f} ms, p99 {got['p99_ms']['median']:,.0f} ms (queued)")
            say(cpu_line(got))
        naive = measure(store, 1, args.naive_messages, args.runs, naive=True, postgres=args.postgres)
        out["naive"][store] = naive
        best = max(v["rate"]["median"] for k, v in out["throughput"].items() if k.startswith(store))
        say(f"  {label:<10} naive pipeline         {naive['rate']['median']:7,.0f} msg/s "
            f"(min {naive['rate']['min']:,.0f}, max {naive['rate']['max']:,.0f}); the worker is "
            f"{best / naive['rate']['median']:.1f}x")
        say(cpu_line(naive))
        for workers in (1, 2):
            paced = measure(store, workers, args.paced_messages, args.runs, offered=args.offered,
                            postgres=args.postgres)
            out["paced"][f"{store}, {workers} worker(s)"] = paced
            say(f"  {label:<10} {workers} worker(s), {args.offered:,.0f} msg/s offered: answered "
                f"{paced['rate']['median']:,.0f} msg/s; p50 {paced['p50_ms']['median']:,.1f} ms, "
                f"p99 {paced['p99_ms']['median']:,.1f} ms (max of runs {paced['p99_ms']['max']:,.1f})")
    return out


def prototypes(args) -> dict:
    """Issue 19's comparison: the worker, the bare and the naive prototype on the same preloaded
    mixed stream (bench/throughput.py), each run's ratios taken within the run; and the bus's
    CPU per message in-process (bench/hotpath.py), steadier on a shared machine."""
    from hotpath import run as bus_cpu
    from throughput import compared, stream
    runs = []
    for _ in range(args.runs):
        bodies = stream(args.stream_messages)
        with tempfile.TemporaryDirectory() as tmp:
            got, bare, naive = compared(bodies, args.naive_stream_messages, tmp)
        runs.append({"worker": got, "bare": bare, "naive": naive,
                     "worker / bare": got["rate"] / bare["rate"],
                     "worker / naive": got["rate"] / naive["rate"]})
    out = {name: spread([r[name]["rate"] for r in runs]) for name in ("worker", "bare", "naive")}
    out.update({f"{name} cpu_us": spread([r[name]["cpu_us, worker"] for r in runs])
                for name in ("worker", "bare", "naive")})
    out.update({ratio: spread([r[ratio] for r in runs]) for ratio in ("worker / bare", "worker / naive")})
    out["bus cpu_us in-process"] = spread([bus_cpu(stream(2000)) for _ in range(args.runs)])
    for name in ("worker", "bare", "naive"):
        say(f"  {name:<7} {out[name]['median']:8,.0f} msg/s (min {out[name]['min']:,.0f}, max "
            f"{out[name]['max']:,.0f}); CPU per message {out[name + ' cpu_us']['median']:,.0f} µs")
    say(f"  worker / bare {out['worker / bare']['median']:.2f} (target 0.8), worker / naive "
        f"{out['worker / naive']['median']:.1f} (target 15); the bus in-process "
        f"{out['bus cpu_us in-process']['median']:,.0f} µs CPU per message")
    return out


def reconcile(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "reconcile.json"
        subprocess.run([sys.executable, str(ROOT / "bench" / "reconcile.py"), "--entries",
                        str(args.entries), "--postings", str(args.postings), "--rounds",
                        str(args.runs), "--json", str(target)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        out = json.loads(target.read_text())
    say(f"  {out['entries']:,} entries against {out['postings']:,} postings: reconcile "
        f"{out['reconcile_s']['median']:.1f} s (min {out['reconcile_s']['min']:.1f}, max "
        f"{out['reconcile_s']['max']:.1f}); statement read {out['read_s']:.1f} s; peak RSS "
        f"{out['peak_rss_mib']:,.0f} MiB")
    return out


def growth(args) -> dict:
    per_message = per_message_size(args.tx_sizes, args.runs, "sqlite", args.postgres, args.seconds)
    for row in per_message:
        say(f"  {row['transactions']:>5} tx/message ({row['bytes']:>9,} bytes): reader "
            f"{row['read_us_per_tx']['median']:7.1f} µs/tx, whole pipeline "
            f"{row['pipeline_us_per_tx']['median']:7.1f} µs/tx")
    ledger = {store: ledger_size(args.ledger_sizes, args.runs, store, args.postgres,
                                 args.replay_messages, 100) for store in STORES}
    rows = [{"postings": size, **{STORES[store]: ledger[store][i]["messages_per_second"]
                                  for store in STORES}}
            for i, size in enumerate(args.ledger_sizes)]
    return {"per_message": per_message, "ledger": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--offered", type=float, default=1000.0)
    args = parser.parse_args()
    quick = args.quick
    args.runs = 1 if quick else 3
    args.seconds = 0.3 if quick else 2.0
    args.replay_messages = 300 if quick else 2000
    args.e2e_messages = 500 if quick else 5000
    args.naive_messages = 200 if quick else 1000
    args.paced_messages = 500 if quick else 5000
    args.stream_messages = 2000 if quick else 20000
    args.naive_stream_messages = 400 if quick else 4000
    args.entries, args.postings = (2_000, 20_000) if quick else (100_000, 1_000_000)
    args.tx_sizes = (1, 10, 100) if quick else (1, 10, 100, 1000)
    args.ledger_sizes = (10_000,) if quick else (10_000, 100_000, 1_000_000)
    configure_logging("warning")

    target = args.out / "results.json"
    # --only keeps the other sections of an earlier run (same place, same machine) in the file.
    results = json.loads(target.read_text()) if target.exists() and set(args.only) != set(SECTIONS) else {}
    results.update({"machine": machine(), "quick": quick,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    args.out.mkdir(parents=True, exist_ok=True)
    m = results["machine"]
    say(f"tokenbridge benchmark on {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
        f"RabbitMQ {m['rabbitmq']}, PostgreSQL {m['postgresql']}; median of {args.runs} run(s)")
    for section in SECTIONS:
        if section in args.only:
            say(f"{section}:")
            started = time.perf_counter()
            results[section] = globals()[section.replace("-", "_")](args)
            results.setdefault("seconds", {})[section] = round(time.perf_counter() - started, 1)
            target.write_text(json.dumps(results, indent=2) + "\n")  # a section at a time
    if "growth" in results:
        (args.out / "growth.svg").write_text(growth_svg(results["growth"]["per_message"],
                                                        results["growth"]["ledger"]))
    say(f"written: {args.out / 'results.json'}" + (f", {args.out / 'growth.svg'}" if "growth" in results else ""))


if __name__ == "__main__":
    main()
