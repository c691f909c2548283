"""Failover to a PostgreSQL standby: the primary, replicating synchronously to its standby, is
stopped in the middle of a stream and the standby promoted. The worker, given both servers in
one multi-host URL (`target_session_attrs=read-write`), reconnects to the promoted standby:
every message answered once, the books exact, the audit trail intact."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from broker import queue_depth, wait_answering, wait_consuming
from cluster.postgres import StandbyPair, StandbyUnavailable
from conftest import seeded_store, service_unavailable
from streams import answers, assert_exactly_once, publish, start_worker, stop_worker, stream

pytestmark = pytest.mark.slow  # two PostgreSQL servers, the real broker, a worker process


@pytest.fixture()
def pair():
    try:
        running = StandbyPair().__enter__()
    except StandbyUnavailable as error:
        service_unavailable("a PostgreSQL primary and standby (initdb, pg_basebackup, pg_ctl)", error)
    yield running
    running.__exit__(None, None, None)


def test_promoting_the_standby_mid_stream_answers_every_message_once_and_keeps_the_books(
        pair: StandbyPair, amqp_prefix: str, tmp_path: Path) -> None:
    seeded = seeded_store(pair.url_of(pair.primary))  # migrated and seeded; the standby follows
    seeded.engine.dispose()
    bodies, expected_units = stream(5000, seed=23)
    publish(amqp_prefix, bodies[:4000])
    log = tmp_path / "worker.log"
    worker = start_worker(pair.url, amqp_prefix, log)
    try:
        wait_consuming(amqp_prefix)
        wait_answering(amqp_prefix, at_least=200)  # in the middle of the stream
        waiting = queue_depth(f"{amqp_prefix}.in")
        pair.stop(pair.primary)  # as a crash: no shutdown checkpoint, connections cut
        pair.promote(pair.standby)
        publish(amqp_prefix, bodies[4000:])
        replies = answers(amqp_prefix, len(bodies), timeout_s=300)
    finally:
        stop_worker(worker, log)
    assert waiting > 0  # the primary went away in the middle of the stream
    promoted = seeded_store(pair.url)  # the same multi-host URL now reaches the promoted standby
    assert_exactly_once(replies, promoted, len(bodies), expected_units, log)
    promoted.engine.dispose()
    assert queue_depth(f"{amqp_prefix}.in") == 0 and queue_depth(f"{amqp_prefix}.dead") == 0
    verified = CliRunner().invoke(cli, ["audit", "verify"], env={"TOKENBRIDGE_DATABASE_URL": pair.url})
    assert verified.exit_code == 0, verified.output
