"""The reliability campaign: hostile input, kills, restarts and a backlog, against the real
RabbitMQ and PostgreSQL; prints what was tried and what held. docs/reliability.md has the
figures of the last run.

    .venv/bin/python bench/reliability.py [--fuzz 2000] [--kills 20] [--restarts 3] [--backlog 100000]

Invariants checked after each phase: every input answered (by correlation id) or
dead-lettered, in = answered + dead-lettered; no idempotency key applied twice; supply equals
the sum of balances and the expected total.
"""
from __future__ import annotations

import argparse
import random
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from adapters.logs import configure_logging  # noqa: E402
from bridge.delivery import dead_letter_reason  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from bridge.bus import MessageBus  # noqa: E402
from broker import delete_names, queue_depth  # noqa: E402
from hostile_inputs import catalogue  # noqa: E402
from replay import fresh_postgres, seeded_store  # noqa: E402
from test_fuzz import mutated  # noqa: E402
from streams import answered, ledger_state, publish, start_worker, stream  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROWS: list[tuple[str, str, str]] = []


def row(what: str, tried: str, held: str) -> None:
    ROWS.append((what, tried, held))
    print(f"  {what:<34} {tried:<34} {held}", flush=True)


def hostile_phase(fuzz: int) -> None:
    store = seeded_store(f"sqlite:///{ROOT}/.reliability-{uuid.uuid4().hex[:6]}.db")
    pipeline = MessageBus(MessageReader(), store)
    worst_ms, verdicts = 0.0, {}
    for name, (data, _) in catalogue().items():
        start = time.process_time()
        outcome = pipeline.handle(data)
        worst_ms = max(worst_ms, (time.process_time() - start) * 1000)
        verdicts[outcome.verdict] = verdicts.get(outcome.verdict, 0) + 1
    row("hostile inputs (catalogue)", f"{len(catalogue())} kinds",
        f"all answered/refused; worst CPU {worst_ms:.0f} ms; {verdicts}")
    count = {"n": 0, "crash": 0, "slowest": 0.0}

    @settings(max_examples=fuzz, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def fuzz_one(data: bytes) -> None:
        start = time.process_time()
        outcome = pipeline.handle(data)
        count["slowest"] = max(count["slowest"], (time.process_time() - start) * 1000)
        count["n"] += 1
        assert outcome.verdict in ("accepted", "partial", "rejected", "refused")
        dead_letter_reason(outcome)

    fuzz_one()
    with store() as uow:
        supply, balances = uow.ledger.supply(), uow.ledger.balances()
    consistent = all(units == sum(b.balance for b in balances if b.currency == c) for c, units in supply.items())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row("fuzzed mutants of valid messages", f"{count['n']} mutants",
        f"no crash; slowest {count['slowest']:.1f} ms CPU; ledger consistent: {consistent}; peak RSS {peak_mib:.0f} MiB")
    store.engine.dispose()
    for leftover in ROOT.glob(".reliability-*.db*"):
        leftover.unlink()


def kill_phase(kills: int, messages: int) -> None:
    url, drop = fresh_postgres(PG_ADMIN)
    store = seeded_store(url)
    prefix = f"tbrel-{uuid.uuid4().hex[:8]}"
    bodies, expected = stream(messages, seed=kills)
    publish(prefix, bodies)
    rng = random.Random(1)
    log = Path("/tmp") / f"{prefix}.log"
    for _ in range(kills):
        worker = start_worker(url, prefix, log)
        time.sleep(rng.uniform(0.5, 3.0))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    worker = start_worker(url, prefix, log)
    seen = answered(prefix, messages, timeout_s=1800)
    worker.terminate()
    worker.wait(timeout=60)
    supply, postings, keys = ledger_state(store)
    ok = len(seen) == messages and supply == {"EUR": expected} and postings == keys == messages
    row("worker killed with SIGKILL", f"{kills} kills, {messages} messages",
        f"answered {len(seen)}/{messages}; keys applied once: {postings == keys}; supply right: {ok}")
    store.engine.dispose()
    delete_names(prefix)
    drop()


def restart_phase(restarts: int, messages: int) -> None:
    url, drop = fresh_postgres(PG_ADMIN)
    store = seeded_store(url)
    prefix = f"tbrel-{uuid.uuid4().hex[:8]}"
    bodies, expected = stream(messages, seed=99)
    log = Path("/tmp") / f"{prefix}.log"
    worker = start_worker(url, prefix, log)
    chunk = messages // (2 * restarts)
    sent = 0
    cluster = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]
    for i in range(restarts):
        publish(prefix, bodies[sent:sent + chunk])
        sent += chunk
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
        time.sleep(1)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
        time.sleep(2)
        publish(prefix, bodies[sent:sent + chunk])
        sent += chunk
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
                       check=True, capture_output=True)
    publish(prefix, bodies[sent:])
    seen = answered(prefix, messages, timeout_s=1800)
    worker.terminate()
    worker.wait(timeout=60)
    supply, postings, keys = ledger_state(store)
    row("broker and database restarted", f"{restarts} + {restarts} restarts, {messages} messages",
        f"answered {len(seen)}/{messages}; supply right: {supply == {'EUR': expected}}; "
        f"keys once: {postings == keys == messages}; dead: {queue_depth(prefix + '.dead')}")
    store.engine.dispose()
    delete_names(prefix)
    drop()


def backlog_phase(backlog: int) -> None:
    url, drop = fresh_postgres(PG_ADMIN)
    store = seeded_store(url)
    prefix = f"tbrel-{uuid.uuid4().hex[:8]}"
    bodies, expected = stream(backlog, seed=42)
    publish(prefix, bodies)
    log = Path("/tmp") / f"{prefix}.log"
    started = time.monotonic()
    first, second = start_worker(url, prefix, log), start_worker(url, prefix, log)
    seen = answered(prefix, backlog, timeout_s=7200)
    elapsed = time.monotonic() - started
    for worker in (first, second):
        worker.terminate()
        worker.wait(timeout=60)
    supply, postings, keys = ledger_state(store)
    row("backlog drained by 2 workers", f"{backlog} messages",
        f"answered {len(seen)}/{backlog} in {elapsed:.0f} s; supply right: {supply == {'EUR': expected}}; "
        f"keys once: {postings == keys == backlog}")
    store.engine.dispose()
    delete_names(prefix)
    drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fuzz", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--kill-messages", type=int, default=5000)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--restart-messages", type=int, default=3000)
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()
    configure_logging("error")
    print(f"{'what':<36} {'tried':<34} held")
    if args.fuzz:
        hostile_phase(args.fuzz)
    if args.kills:
        kill_phase(args.kills, args.kill_messages)
    if args.restarts:
        restart_phase(args.restarts, args.restart_messages)
    if args.backlog:
        backlog_phase(args.backlog)


if __name__ == "__main__":
    main()
