"""The worker against the real RabbitMQ and a real store: replies, dead letters, retries,
scale-out. Crash and restart tests are in test_worker_faults.py."""
from __future__ import annotations

import hashlib
import threading
import pytest

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.topology import Names, declare
from adapters.rabbitmq.worker import REASON_HEADER, Worker, WorkerOptions, publish_files
from bridge.delivery import RetryPolicy
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from broker import AMQP_URL, drain, drain_answers, drain_routed, queue_depth, wait_depth
from builders import Tx, app_header, pacs008, swift_envelope

pytestmark = pytest.mark.slow  # the real broker

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
FATIMA = "FR7630004008280001058392658"


class RunningWorker:
    """A worker on a thread, stopped (gracefully) by the context manager."""

    def __init__(self, store, prefix: str, *, pipeline: MessageBus | None = None, settle=None,
                 **options) -> None:
        pipeline = pipeline or MessageBus(MessageReader(), store, is_transient=store.is_transient)
        self.worker = Worker(pipeline, store, AMQP_URL, WorkerOptions(names=Names(prefix), **options),
                             settle=settle)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> "RunningWorker":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def publish(prefix: str, bodies: list[bytes], retry_delays=(0.2,)) -> None:
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    declare(channel, Names(prefix), retry_delays)
    publish_files(channel, Names(prefix), [(f"m{i}", b) for i, b in enumerate(bodies)])
    connection.close()


def supply(store) -> dict:
    with store() as uow:
        return uow.ledger.supply()


def mints(count: int, amount: str = "1.00") -> list[bytes]:
    return [pacs008([Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
            for _ in range(count)]


def test_topology_declaration_is_idempotent(amqp_prefix) -> None:
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    for _ in range(2):
        declare(channel, Names(amqp_prefix), (1, 5))
    connection.close()
    assert queue_depth(f"{amqp_prefix}.in") == 0 and queue_depth(f"{amqp_prefix}.dead") == 0


def test_every_pacs008_gets_a_confirmed_pacs002_with_the_documented_properties(registry, amqp_prefix) -> None:
    bodies = mints(40) + [swift_envelope(pacs008([Tx(amount="2.00", debtor_iban=FATIMA, creditor_iban=BRUNO)]),
                                         app_header(biz_msg_id="BIZ-WORKER-1")).encode()]
    with RunningWorker(registry, amqp_prefix, batch_size=16):
        publish(amqp_prefix, bodies)
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= len(bodies))
    assert len(replies) == len(bodies)
    assert len({p.message_id for p, _ in replies}) == len(bodies)
    assert {p.type for p, _ in replies} == {"pacs.002.001.10"}
    assert {p.content_type for p, _ in replies} == {"application/xml"}
    assert "BIZ-WORKER-1" in {p.correlation_id for p, _ in replies}
    assert all(b"<GrpSts>ACSC</GrpSts>" in body.replace(b"ns0:", b"") or b"ACSC" in body for _, body in replies)
    assert supply(registry) == {"EUR": 4200}
    assert queue_depth(f"{amqp_prefix}.in") == 0
    with registry() as uow:
        assert uow.outbox.backlog() == 0


def test_each_release_is_answered_in_its_own_version_2026_included(registry, amqp_prefix) -> None:
    bodies = [pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE)], version=version).encode()
              for version in ("13", "14")]
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, bodies)
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= len(bodies))
    assert sorted(p.type for p, _ in replies) == ["pacs.002.001.15", "pacs.002.001.16"]
    for properties, body in replies:
        read = MessageReader().read(body)
        assert read.valid and read.message_type == properties.type, read.findings
    assert supply(registry) == {"EUR": 200}


def test_poison_is_dead_lettered_with_its_reason_and_answered_where_possible(registry, amqp_prefix) -> None:
    schema_invalid = pacs008([Tx()], msg_id="POISON-1").replace("<NbOfTxs>", "<Bogus/><NbOfTxs>").encode()
    bodies = [b"not xml at all", b"<invoice/>", schema_invalid, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>']
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, bodies)
        dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 4)
        routed = drain_routed(f"{amqp_prefix}.out", lambda got: len(got) >= 4, timeout_s=10)
    reasons = sorted(p.headers[REASON_HEADER].split(":")[0] for p, _ in dead)
    assert len(dead) == 4 and reasons == ["refused", "refused", "refused", "xsd.element_content"]
    replies = [(p, body) for key, p, body in routed if key.startswith("pacs.002")]
    assert [p.correlation_id for p, _ in replies] == ["POISON-1"]
    assert b"FF01" in replies[0][1] and b"RJCT" in replies[0][1]
    # issue 15: the three refused are answered too, each with an admi.002 message reject
    # (were: not answered), correlated by the input's digest (none shows a BizMsgIdr or MsgId).
    rejects = sorted((p.correlation_id, body) for key, p, body in routed if key == "admi.002.001.01")
    assert [c for c, _ in rejects] == sorted(hashlib.sha256(b).hexdigest()[:32] for b in bodies[:2] + bodies[3:])
    assert all(MessageReader().read(body).valid and b"<RjctgPtyRsn>FF01<" in body for _, body in rejects)
    assert len(routed) == 4
    assert queue_depth(f"{amqp_prefix}.in") == 0


def test_a_redriven_poison_message_is_dead_lettered_again_whatever_its_kind(registry, amqp_prefix) -> None:
    """Issue 18: a schema-invalid pacs.008 (answered RJCT) re-driven was answered and acked;
    other poison (answered with an admi.002) came back to the dead letters. Now both do."""
    from adapters.rabbitmq.dead_letters import list_dead, redrive
    schema_invalid = pacs008([Tx()], msg_id="POISON-2").replace("<NbOfTxs>", "<Bogus/><NbOfTxs>").encode()
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, [schema_invalid, b"not xml at all"])
        wait_depth(f"{amqp_prefix}.dead", 2)
        connection = connect(AMQP_URL, attempts=3)
        channel = confirmed_channel(connection)
        before = {letter.id: letter.reason for letter in list_dead(channel, Names(amqp_prefix))}
        assert sorted(r.split(":")[0] for r in before.values()) == ["refused", "xsd.element_content"]
        assert sorted(redrive(channel, Names(amqp_prefix), lambda letter: True)) == sorted(before)
        routed = drain_routed(f"{amqp_prefix}.out", lambda got: len(got) >= 4, timeout_s=20)
        wait_depth(f"{amqp_prefix}.dead", 2)
        after = {letter.id: letter.reason for letter in list_dead(channel, Names(amqp_prefix))}
        connection.close()
    assert after == before  # both back, each with the reason it had
    assert sorted(key.split(".")[0] for key, _, _ in routed) == ["admi", "admi", "pacs", "pacs"]  # answered twice, alike
    assert queue_depth(f"{amqp_prefix}.in") == 0


def test_business_rejects_are_answered_not_dead_lettered(registry, amqp_prefix) -> None:
    body = pacs008([Tx(amount="5.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode()  # AM04
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, [body])
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
    assert b"AM04" in replies[0][1]
    assert queue_depth(f"{amqp_prefix}.dead") == 0


def test_redelivered_message_is_answered_again_without_a_second_effect(registry, amqp_prefix) -> None:
    body = mints(1, "3.00")[0]
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, [body, body])  # a redelivery, as the broker would do after a crash
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 2)
    assert len({p.message_id for p, _ in replies}) == 1  # the same reply: consumers dedupe
    assert supply(registry) == {"EUR": 300}


@pytest.mark.parametrize("workers", [1, 2])
def test_competing_workers_end_in_the_same_state(registry, amqp_prefix, workers: int) -> None:
    bodies = mints(150)
    bodies += bodies[:30]  # duplicates, possibly handled by different workers at once
    bodies += [pacs008([Tx(amount="0.50", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode() for _ in range(20)]
    runners = [RunningWorker(registry, amqp_prefix, batch_size=10, prefetch=20) for _ in range(workers)]
    publish(amqp_prefix, bodies[:150])  # mints first, so the transfers below are always covered
    for runner in runners:
        runner.__enter__()
    def distinct(count: int):
        return lambda got: len({p.message_id for p, _ in got}) >= count  # consumers dedupe on it
    try:
        first = drain_answers(f"{amqp_prefix}.out", distinct(150))
        publish(amqp_prefix, bodies[150:])
        second = drain_answers(f"{amqp_prefix}.out", distinct(50))
    finally:
        for runner in runners:
            runner.__exit__()
    first_ids = {p.message_id for p, _ in first}
    second_ids = {p.message_id: body for p, body in second}
    # The 30 repeated mints are answered with their first reply; the 20 transfers are new, ACSC.
    assert len(first_ids) == 150 and len(second_ids) == 50
    assert len(second_ids.keys() & first_ids) == 30
    assert all(b"ACSC" in body for key, body in second_ids.items() if key not in first_ids)
    with registry() as uow:
        balances = {b.wallet: b.balance for b in uow.ledger.balances()}
        wallet_postings = uow.ledger.journal()
    assert balances == {"w-alice": 15000 - 1000, "w-bruno": 1000}
    # 150 mints (one wallet leg each) and 20 transfers (two wallet legs): no key applied twice.
    assert len(wallet_postings) == 150 + 2 * 20
    assert len({p.operation_key for p in wallet_postings}) == 170
    assert supply(registry) == {"EUR": 15000}


def test_transient_store_failure_is_retried_then_dead_lettered(postgres_url, amqp_prefix) -> None:
    from sqlalchemy import create_engine, text

    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    from conftest import POSTGRES_ADMIN_URL
    engine = create_store_engine(postgres_url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:  # the database goes away: no new connections, existing ones cut
        c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
    engine.dispose()
    retry = RetryPolicy(delays_s=(0.1, 0.2), max_attempts=3)
    try:
        with RunningWorker(store, amqp_prefix, retry=retry):
            publish(amqp_prefix, mints(2), retry_delays=retry.delays_s)
            dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 2, timeout_s=30)
    finally:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert len(dead) == 2
    assert all("after 3 attempt(s)" in p.headers[REASON_HEADER] for p, _ in dead)
    assert all(p.headers["x-tokenbridge-attempts"] == 2 for p, _ in dead)
    engine.dispose()


def test_database_down_for_a_while_loses_nothing(postgres_url, amqp_prefix) -> None:
    import time

    from sqlalchemy import create_engine, text

    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    from bridge.accounts import RegisteredAccount
    from conftest import POSTGRES_ADMIN_URL
    engine = create_store_engine(postgres_url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount(ALICE, "EUR", "w-alice")])
        uow.commit()
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    retry = RetryPolicy(delays_s=(0.3, 0.5, 1.0), max_attempts=30)
    with RunningWorker(store, amqp_prefix, retry=retry, batch_size=5):
        publish(amqp_prefix, mints(10), retry_delays=retry.delays_s)
        drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 10)
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        publish(amqp_prefix, mints(20), retry_delays=retry.delays_s)
        time.sleep(2)
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 20, timeout_s=60)
    admin.dispose()
    assert len(replies) == 20
    assert supply(store) == {"EUR": 3000}
    assert queue_depth(f"{amqp_prefix}.dead") == 0
    engine.dispose()


def test_dead_letters_are_listed_and_redriven_keeping_their_identity(registry, amqp_prefix) -> None:
    from adapters.rabbitmq.dead_letters import list_dead, redrive
    body = mints(1, "4.00")[0]
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    declare(channel, Names(amqp_prefix), (0.2,))
    channel.basic_publish(f"{amqp_prefix}.dead", "", body, __import__("pika").BasicProperties(
        message_id="orig-1", headers={REASON_HEADER: "OperationalError after 7 attempt(s)"}))
    letters = list_dead(channel, Names(amqp_prefix))
    assert [(letter.reason, letter.properties.message_id) for letter in letters] == [
        ("OperationalError after 7 attempt(s)", "orig-1")]
    assert queue_depth(f"{amqp_prefix}.dead") == 1  # listing does not consume
    with RunningWorker(registry, amqp_prefix):
        assert redrive(channel, Names(amqp_prefix), lambda letter: True) == [letters[0].id]
        drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
        # Re-driven again (by mistake): same bytes, so the inbox answers and nothing re-applies.
        channel.basic_publish(f"{amqp_prefix}.dead", "", body)
        redrive(channel, Names(amqp_prefix), lambda letter: True)
        replies = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
    connection.close()
    assert len(replies) == 1 and queue_depth(f"{amqp_prefix}.dead") == 0
    assert supply(registry) == {"EUR": 400}


def test_metrics_are_served_for_prometheus(registry, amqp_prefix) -> None:
    import socket
    import urllib.request

    from adapters.metrics import WorkerMetrics
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = WorkerMetrics()
    metrics.serve(port)
    runner = RunningWorker(registry, amqp_prefix)
    runner.worker.metrics = metrics
    with runner:
        publish(amqp_prefix, mints(3) + [b"<invoice/>"])
        drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 3)
        drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 1)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'tokenbridge_messages_total{message_type="pacs.008.001.08",outcome="accepted"} 3.0' in text
    assert 'tokenbridge_transactions_total{operation="mint",reason="",status="ACSC"} 3.0' in text
    assert "tokenbridge_processing_seconds_count 4.0" in text
    assert "tokenbridge_outbox_backlog" in text and "tokenbridge_dead_lettered_total" in text


def test_a_batch_is_what_has_arrived_not_a_wait_for_company(registry, amqp_prefix) -> None:
    """A batch goes as soon as the deliveries stop coming, never above batch_size: with
    max_wait_s at a minute, neither a backlog's tail nor a lone message waits for it."""
    from adapters.metrics import WorkerMetrics
    publish(amqp_prefix, mints(120))  # a backlog before the worker starts
    runner = RunningWorker(registry, amqp_prefix, batch_size=50, max_wait_s=60.0)
    runner.worker.metrics = metrics = WorkerMetrics()
    with runner:
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 120, timeout_s=30)) == 120
        publish(amqp_prefix, mints(1, amount="2.00"))
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=10)) == 1
    sample = metrics.registry.get_sample_value
    assert sample("tokenbridge_batch_messages_sum") == 121
    assert sample("tokenbridge_batch_messages_bucket", {"le": "20.0"}) >= 1  # the backlog's tail
    assert sample("tokenbridge_batch_messages_bucket", {"le": "50.0"}) == sample("tokenbridge_batch_messages_count")


def test_confirmed_replies_are_marked_published_even_when_marking_is_deferred(registry, amqp_prefix) -> None:
    """Marks gather over batches (mark_interval_s); idle time and a stop still write them all,
    so no sweep publishes a reply a second time."""
    with RunningWorker(registry, amqp_prefix, batch_size=10, mark_interval_s=3600.0):
        publish(amqp_prefix, mints(60))
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 60, timeout_s=30)) == 60
    with registry() as uow:
        assert uow.outbox.backlog() == 0
