"""End to end through the local RabbitMQ, from publishing a pacs.008 to receiving its confirmed
pacs.002 on tokenbridge.out: messages/s and p50/p99 latency, for `tokenbridge worker` (1 or 2
processes) and for the naive pipeline (bench/naive.py), on SQLite or PostgreSQL.

Two ways to offer the load:
- backlog: everything published as fast as the broker confirms it (throughput; the latencies
  then include the time spent queued behind the backlog);
- paced: a fixed rate (e.g. 1,000 messages/s), for latency under a load the worker can carry.

    .venv/bin/python bench/worker.py [--messages 3000] [--runs 3]      (or bench/run.py)
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import pika  # noqa: E402

from adapters.rabbitmq.channel import PERSISTENT, confirmed_channel, connect  # noqa: E402
from adapters.rabbitmq.publisher import ConfirmedPublisher  # noqa: E402
from adapters.rabbitmq.topology import IN_ROUTING_KEY, Names, declare  # noqa: E402
from broker import AMQP_URL, delete_names  # noqa: E402
from common import cpu_by_part, percentile, spread  # noqa: E402
from replay import fresh_postgres, messages, seeded_store  # noqa: E402

WORKER = [sys.executable, "-c", "from adapters.cli import main; main()", "worker"]
NAIVE = [sys.executable, str(ROOT / "bench" / "naive.py")]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _consumers(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.consumer_count


def run_once(url: str, workers: int, count: int, *, offered: float | None = None,
             naive: bool = False, bodies: list[bytes] | None = None) -> dict:
    """One run on a fresh store: {rate, p50_ms, p99_ms, answered}; `bodies` (of `count`
    messages) instead of bench/replay.py's mix."""
    seeded_store(url).engine.dispose()
    prefix = f"tbbench-{uuid.uuid4().hex[:8]}"
    names = Names(prefix)
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    declare(channel, names, (1, 5, 15, 30, 60, 120))
    bodies = bodies or messages(count)
    ids = [b.split(b"<MsgId>")[1].split(b"</MsgId>")[0].decode() for b in bodies]
    metrics_port = _free_port(workers)
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": url, "TOKENBRIDGE_AMQP_PREFIX": prefix,
           "TOKENBRIDGE_METRICS_PORT": str(metrics_port)}
    command = NAIVE if naive else [*WORKER, "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 60
    while _consumers(channel, names.inbound) < (1 if naive else workers):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the workers did not start consuming")
        time.sleep(0.1)
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    done = threading.Event()

    def consume() -> None:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        for method, props, _ in ch.consume(names.outbound, inactivity_timeout=0.2):
            if method is not None:
                if (props.type or "").startswith("pacs.002"):  # the reply, not a camt.054
                    received.setdefault(props.correlation_id, time.perf_counter())
                ch.basic_ack(method.delivery_tag, multiple=True)
            if len(received) >= count or done.is_set():
                break
        conn.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    publisher = ConfirmedPublisher(connection)
    cpu_before = cpu_by_part(process.pid)
    chunk = 200 if offered is None else max(1, int(offered / 100))  # paced: every 10 ms
    start = time.perf_counter()
    for first in range(0, count, chunk):
        if offered is not None:  # hold the offered rate
            due = start + first / offered
            while (left := due - time.perf_counter()) > 0:
                time.sleep(min(0.002, left))
        for index in range(first, min(first + chunk, count)):
            sent[ids[index]] = time.perf_counter()
            publisher.publish(names.inbound, IN_ROUTING_KEY, bodies[index],
                              pika.BasicProperties(delivery_mode=PERSISTENT, message_id=ids[index]))
        publisher.wait()
    offered_rate = count / (time.perf_counter() - start)
    consumer.join(timeout=max(120, count / 50))
    done.set()
    cpu_after = cpu_by_part(process.pid)
    cycle = {} if naive else batch_phases(metrics_port, workers)
    process.send_signal(signal.SIGTERM)
    finish(process, connection, prefix)
    if len(received) < count:
        raise RuntimeError(f"only {len(received)} of {count} answered")
    latencies = sorted(received[k] - sent[k] for k in received)
    elapsed = max(received.values()) - start
    return {"rate": count / elapsed, "offered": offered_rate,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            # CPU per message by part, in µs: where the machine's 2 cores went
            **{f"cpu_us_per_message, {part}": (cpu_after[part] - cpu_before[part]) / count * 1e6
               for part in cpu_before},
            "cpu_busy_cores": sum(cpu_after[p] - cpu_before[p] for p in cpu_before) / elapsed,
            **cycle}


def finish(process: subprocess.Popen, connection, prefix: str) -> None:
    """After SIGTERM: wait for `process` (killed after a minute), close, delete the queues."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
    connection.close()
    delete_names(prefix)


def _free_port(count: int) -> int:
    """A base port free with the `count - 1` after it (worker i serves metrics on base + i)."""
    import socket
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        try:
            for port in range(base + 1, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except (OSError, OverflowError):
            continue  # one of the next ports is taken, or past 65535: another base


def batch_phases(port: int, workers: int) -> dict:
    """The workers' own account of their cycle (tokenbridge_batch_phase_seconds), scraped from
    their metrics endpoints: mean ms per batch in each phase, and mean deliveries per batch."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for index in range(workers):
        text = urlopen(f"http://127.0.0.1:{port + index}/metrics", timeout=5).read().decode()
        for family in text_string_to_metric_families(text):
            if family.name not in ("tokenbridge_batch_phase_seconds", "tokenbridge_batch_messages"):
                continue
            for sample in family.samples:
                label = sample.labels.get("phase", "batch")  # the batch size has no phase
                if sample.name.endswith("_sum"):
                    sums[label] = sums.get(label, 0.0) + sample.value
                elif sample.name.endswith("_count"):
                    counts[label] = counts.get(label, 0.0) + sample.value
    got = {f"batch_ms, {phase}": sums[phase] / counts[phase] * 1000
           for phase in sums if phase != "batch" and counts.get(phase)}
    if counts.get("batch"):
        got["messages_per_batch"] = sums["batch"] / counts["batch"]
        got["marks_per_batch"] = counts.get("mark", 0.0) / counts["batch"]
    return got


def cpu_line(got: dict) -> str:
    """Where a run's CPU went, per message, by part (bench/common.cpu_by_part)."""
    parts = [f"{key.split(', ')[1]} {value['median']:,.0f}" for key, value in got.items()
             if key.startswith("cpu_us")]
    return (f"             CPU per message (µs): {', '.join(parts)}; cores busy "
            f"{got['cpu_busy_cores']['median']:.2f} of {os.cpu_count()}") if parts else ""


def cycle_line(got: dict) -> str:
    """The worker's cycle, per batch: mean ms in each phase (bench/worker.batch_phases)."""
    phases = [f"{key.split(', ')[1]} {value['median']:.1f}" for key, value in got.items()
              if key.startswith("batch_ms")]
    return (f"             per batch (ms): {', '.join(phases)}; "
            f"{got['messages_per_batch']['median']:.0f} messages and "
            f"{got['marks_per_batch']['median']:.2f} marks per batch") if phases else ""


def measure(store: str, workers: int, count: int, runs: int, *, offered: float | None = None,
            naive: bool = False, postgres: str = POSTGRES) -> dict:
    """Several runs, each on a fresh store: spread of rate, p50 and p99."""
    results = []
    for _ in range(runs):
        if store == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results.append(run_once(f"sqlite:///{tmp}/bench.db", workers, count,
                                        offered=offered, naive=naive))
        else:
            url, drop = fresh_postgres(postgres)
            try:
                results.append(run_once(url, workers, count, offered=offered, naive=naive))
            finally:
                drop()
    return {key: spread([r[key] for r in results]) for key in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--offered", type=float, default=None, help="paced load, messages/s")
    parser.add_argument("--naive", action="store_true")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    for store in ([args.store] if args.store else ["sqlite", "postgresql"]):
        for workers in ([args.workers] if args.workers else [1, 2]):
            got = measure(store, workers, args.messages, args.runs, offered=args.offered,
                          naive=args.naive)
            print(f"{store:<10} {workers} worker(s){' naive' if args.naive else ''}: "
                  f"{got['rate']['median']:7.0f} msg/s (min {got['rate']['min']:.0f}, max "
                  f"{got['rate']['max']:.0f}); p50 {got['p50_ms']['median']:.0f} ms, "
                  f"p99 {got['p99_ms']['median']:.0f} ms")
            print(cpu_line(got))
            print(cycle_line(got))


if __name__ == "__main__":
    main()
