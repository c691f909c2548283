"""camt.053 on the inbound queue: the worker reconciles it like `tokenbridge reconcile` and
publishes the report on `tokenbridge.out` with routing key `report.reconciliation`."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.topology import Names, declare
from adapters.rabbitmq.worker import Worker, WorkerOptions, publish_files
from broker import AMQP_URL, drain, queue_depth
from reconcile_support import ManualClock, clocked, pipeline

pytestmark = pytest.mark.slow  # the real broker

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
REPORT = "report.reconciliation"


def test_the_worker_answers_a_camt053_with_its_reconciliation_report(registry, amqp_prefix) -> None:
    clock = ManualClock()
    store = clocked(registry, clock)
    run = pipeline(store, clock)
    for path in sorted((SAMPLES / "pacs008").glob("*.xml")):
        run.handle(path.read_bytes())  # the payments, already on the ledger
    worker = Worker(run, store, AMQP_URL, WorkerOptions(names=Names(amqp_prefix)))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        connection = connect(AMQP_URL, attempts=3)
        channel = confirmed_channel(connection)
        declare(channel, Names(amqp_prefix), (0.2,))
        statements = sorted((SAMPLES / "camt053").glob("*.xml"))
        publish_files(channel, Names(amqp_prefix), [(p.name, p.read_bytes()) for p in statements])
        connection.close()
        # The worker also relays the replayed payments' pacs.002 still in the outbox.
        got = drain(f"{amqp_prefix}.out", lambda got: sum(p.type == REPORT for p, _ in got) >= 3)
    finally:
        stop.set()
        thread.join(timeout=30)
    replies = [(p, body) for p, body in got if p.type == REPORT]
    assert len(replies) == 3
    assert {p.content_type for p, _ in replies} == {"application/json"}
    assert {p.correlation_id for p, _ in replies} == {
        "TOKN-STMT-EUR-20261124", "TOKN-STMT-JPY-20261124", "TOKN-STMT-KWD-20261124"}
    assert all(json.loads(body)["clean"] for _, body in replies)
    assert queue_depth(f"{amqp_prefix}.dead") == 0
