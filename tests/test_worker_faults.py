"""Faults under a running worker process: kill -9 mid-stream (repeatedly), SIGTERM, a broker
restart. After each: every message answered, no key applied twice, supply as expected."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.topology import Names, declare
from adapters.rabbitmq.worker import publish_files
from broker import AMQP_URL, drain_answers, queue_depth, wait_answering, wait_consuming
from builders import Tx, pacs008

pytestmark = pytest.mark.slow  # worker processes, fault injection, the real broker

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"
WORKER = [sys.executable, "-c", "from adapters.cli import main; main()", "worker"]


def start_worker(url: str, prefix: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": url, "TOKENBRIDGE_AMQP_PREFIX": prefix,
           "TOKENBRIDGE_BATCH_SIZE": "50"}
    return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def stream(count: int, seed: int) -> tuple[list[bytes], int]:
    rng = random.Random(seed)
    amounts = [Decimal(rng.randint(1, 99_999)) / 100 for _ in range(count)]
    bodies = [pacs008([Tx(amount=f"{a:.2f}", debtor_iban=FATIMA, creditor_iban=ALICE)],
                      msg_id=f"CRASH-{seed}-{i}").encode() for i, a in enumerate(amounts)]
    return bodies, int(sum(amounts) * 100)


def publish(prefix: str, bodies: list[bytes], *, declaring: bool = True) -> None:
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    if declaring:
        declare(channel, Names(prefix), (1, 5, 15, 30, 60, 120))
    publish_files(channel, Names(prefix), [("stream", b) for b in bodies])
    connection.close()


def answered(prefix: str, expected: int, timeout_s: float) -> set[str]:
    seen: set[str] = set()

    def done(got: list) -> bool:
        seen.update(p.correlation_id for p, _ in got[len(done.counted):])
        done.counted = got[:]
        return len(seen) >= expected
    done.counted = []
    drain_answers(f"{prefix}.out", done, timeout_s=timeout_s)
    return seen


def ledger_state(store) -> tuple[dict, int, int]:
    with store() as uow:
        postings = uow.ledger.journal()
        return uow.ledger.supply(), len(postings), len({p.operation_key for p in postings})


@pytest.mark.parametrize("count", [8000])
def test_kill_9_at_random_points_loses_nothing_and_applies_nothing_twice(
        registry, store_url, amqp_prefix, tmp_path: Path, count: int) -> None:
    if store_url.startswith("postgresql"):
        count = 4000  # a slower store: fewer messages, same kills
    bodies, expected_units = stream(count, seed=7)
    publish(amqp_prefix, bodies)
    rng = random.Random(11)
    log = tmp_path / "worker.log"
    kills = 0
    for _ in range(3):
        worker = start_worker(store_url, amqp_prefix, log)
        time.sleep(rng.uniform(1.0, 2.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
    worker = start_worker(store_url, amqp_prefix, log)
    try:
        seen = answered(amqp_prefix, count, timeout_s=180)
        wait_consuming(amqp_prefix)
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert kills == 3
    assert len(seen) == count, f"{count - len(seen)} messages unanswered; see {log}"
    supply, postings, keys = ledger_state(registry)
    assert supply == {"EUR": expected_units}
    assert postings == keys == count  # one wallet posting per mint: no key applied twice
    assert queue_depth(f"{amqp_prefix}.in") == 0 and queue_depth(f"{amqp_prefix}.dead") == 0


def test_sigterm_finishes_in_flight_work_and_exits_0(sqlite_registry, sqlite_url, amqp_prefix,
                                                      tmp_path: Path) -> None:
    # Enough that the first worker is stopped mid-stream (it answers about 1,500/s here).
    bodies, expected_units = stream(5000, seed=3)
    publish(amqp_prefix, bodies)
    log = tmp_path / "worker.log"
    worker = start_worker(sqlite_url, amqp_prefix, log)
    wait_consuming(amqp_prefix)
    wait_answering(amqp_prefix)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, log.read_text()
    assert queue_depth(f"{amqp_prefix}.in") > 0  # it was stopped mid-stream
    worker = start_worker(sqlite_url, amqp_prefix, log)
    try:
        seen = answered(amqp_prefix, 5000, timeout_s=120)
    finally:
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=30) == 0
    assert len(seen) == 5000
    assert ledger_state(sqlite_registry)[0] == {"EUR": expected_units}


@pytest.fixture()
def sqlite_registry(sqlite_url):
    """A SQLite store with the sample registry (process tests run on one backend)."""
    from conftest import seeded_store
    store = seeded_store(sqlite_url)
    yield store
    store.engine.dispose()


def _broker_up(timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connect(AMQP_URL, attempts=1).close()
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.5)
    raise AssertionError("RabbitMQ did not come back")


def test_broker_restart_under_a_running_worker(sqlite_registry, sqlite_url, amqp_prefix, tmp_path: Path) -> None:
    bodies, expected_units = stream(800, seed=5)
    log = tmp_path / "worker.log"
    worker = start_worker(sqlite_url, amqp_prefix, log)
    try:
        publish(amqp_prefix, bodies[:400])
        wait_answering(amqp_prefix)  # the worker is in the middle of the first half
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        time.sleep(1)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        _broker_up()
        publish(amqp_prefix, bodies[400:])
        seen = answered(amqp_prefix, 800, timeout_s=120)
    finally:
        _broker_up()
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert len(seen) == 800, log.read_text()[-2000:]
    assert ledger_state(sqlite_registry)[0] == {"EUR": expected_units}


def test_reply_publishing_failing_mid_stream_loses_no_reply(sqlite_registry, sqlite_url, amqp_prefix,
                                                           tmp_path: Path) -> None:
    """The outbound exchange disappears under the worker: publishes fail (404), the channel
    closes, the worker reconnects, re-declares, and the outbox sweep re-publishes."""
    bodies, expected_units = stream(2000, seed=9)
    log = tmp_path / "worker.log"
    worker = start_worker(sqlite_url, amqp_prefix, log)
    try:
        publish(amqp_prefix, bodies[:500])
        wait_consuming(amqp_prefix)
        connection = connect(AMQP_URL, attempts=3)
        connection.channel().exchange_delete(f"{amqp_prefix}.out")
        connection.close()
        # The second half arrives after the exchange is gone (and is published without
        # re-declaring it), so however fast the worker is, its replies meet the fault.
        publish(amqp_prefix, bodies[500:], declaring=False)
        seen = answered(amqp_prefix, 2000, timeout_s=180)
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert len(seen) == 2000, log.read_text()[-2000:]
    assert "reconnecting" in log.read_text()  # the fault did happen mid-stream
    assert ledger_state(sqlite_registry)[0] == {"EUR": expected_units}
