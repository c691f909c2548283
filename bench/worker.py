"""End-to-end throughput through the local RabbitMQ: from publish of the input to the reply on
tokenbridge.out (published with confirms), single-transaction pacs.008.001.08, SQLite and
PostgreSQL, 1 and 2 worker processes. Reports messages/s and p50/p99 latency.

    .venv/bin/python bench/worker.py [--messages 3000] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
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

import pika  # noqa: E402

from adapters.rabbitmq.channel import PERSISTENT, confirmed_channel, connect  # noqa: E402
from adapters.rabbitmq.topology import IN_ROUTING_KEY, Names, declare  # noqa: E402
from broker import AMQP_URL, delete_names  # noqa: E402
from replay import fresh_postgres, messages, seeded_store  # noqa: E402

WORKER = [sys.executable, "-c", "from adapters.cli import main; main()", "worker"]


def prepare(url: str) -> None:
    seeded_store(url).engine.dispose()


def run_once(url: str, workers: int, count: int) -> tuple[float, float, float]:
    prepare(url)
    prefix = f"tbbench-{uuid.uuid4().hex[:8]}"
    names = Names(prefix)
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    declare(channel, names, (1, 5, 15, 30, 60, 120))
    bodies = messages(count)
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": url, "TOKENBRIDGE_AMQP_PREFIX": prefix}
    worker = subprocess.Popen([*WORKER, "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)  # let the workers connect
    sent: dict[str, float] = {}
    received: dict[str, float] = {}

    def consume() -> None:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=500)
        for method, props, _ in ch.consume(names.outbound, inactivity_timeout=0.5):
            if method is not None:
                received.setdefault(props.correlation_id, time.perf_counter())
                ch.basic_ack(method.delivery_tag)
            if len(received) >= count:
                break
        conn.close()

    consumer = threading.Thread(target=consume)
    consumer.start()
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        msg_id = body.split(b"<MsgId>")[1].split(b"</MsgId>")[0].decode()
        sent[msg_id] = time.perf_counter()
        channel.basic_publish(names.inbound, IN_ROUTING_KEY, body,
                              pika.BasicProperties(delivery_mode=PERSISTENT, message_id=str(i)))
    consumer.join(timeout=600)
    elapsed = max(received.values()) - start
    latencies = sorted(received[k] - sent[k] for k in received)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    connection.close()
    delete_names(prefix)
    return (len(received) / elapsed, latencies[len(latencies) // 2] * 1000,
            latencies[int(len(latencies) * 0.99) - 1] * 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"end to end via RabbitMQ, {args.messages} single-transaction pacs.008.001.08 per run "
          f"(publish as fast as confirms allow), {args.runs} runs; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    for label in ("SQLite", "PostgreSQL"):
        for workers in (1, 2):
            results = []
            for _ in range(args.runs):
                if label == "SQLite":
                    with tempfile.TemporaryDirectory() as tmp:
                        results.append(run_once(f"sqlite:///{tmp}/bench.db", workers, args.messages))
                else:
                    url, drop = fresh_postgres(args.postgres)
                    try:
                        results.append(run_once(url, workers, args.messages))
                    finally:
                        drop()
            rates = [r[0] for r in results]
            print(f"  {label:<10} {workers} worker(s): median {statistics.median(rates):6.0f} msg/s "
                  f"(min {min(rates):.0f}, max {max(rates):.0f}); latency p50 "
                  f"{statistics.median(r[1] for r in results):.0f} ms, p99 "
                  f"{statistics.median(r[2] for r in results):.0f} ms (backlog included)")


if __name__ == "__main__":
    main()
