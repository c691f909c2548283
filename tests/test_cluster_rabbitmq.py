"""Failover between the nodes of a three-node RabbitMQ cluster on this machine: the worker is
given every node's URL; the node it is connected to is stopped in the middle of a stream.
Every message is answered, none applied twice, none lost."""
from __future__ import annotations

from pathlib import Path

import pytest

from broker import queue_depth, wait_answering, wait_consuming
from cluster.rabbitmq import ClusterUnavailable, RabbitCluster
from conftest import seeded_store, service_unavailable
from streams import answers, assert_exactly_once, publish, start_worker, stop_worker, stream

pytestmark = pytest.mark.slow  # three broker nodes and a worker process

PREFIX = "tbcluster"


@pytest.fixture()
def cluster(tmp_path: Path):
    try:
        running = RabbitCluster(tmp_path / "rabbit").__enter__()
    except ClusterUnavailable as error:
        service_unavailable("a three-node RabbitMQ cluster (rabbitmq-server)", error)
    yield running
    running.__exit__(None, None, None)


def test_stopping_the_workers_node_mid_stream_loses_nothing_and_applies_nothing_twice(
        cluster: RabbitCluster, tmp_path: Path) -> None:
    first, second, _ = cluster.nodes
    store = seeded_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    bodies, expected_units = stream(6000, seed=19)
    # The topology is declared through the first node: the inbound queue is a quorum queue
    # with a replica on every node, so it survives the loss of any one of them.
    publish(PREFIX, bodies[:5000], url=first.url)
    assert cluster.members(f"{PREFIX}.in") == sorted(node.name for node in cluster.nodes)
    log = tmp_path / "worker.log"
    worker = start_worker(str(store.engine.url), PREFIX, log, amqp_url=cluster.urls)
    try:
        wait_consuming(PREFIX, url=cluster.urls)
        wait_answering(PREFIX, url=cluster.urls, at_least=200)  # in the middle of the stream
        assert f"127.0.0.1:{first.amqp_port}" in log.read_text()  # the worker is on the first node
        waiting = queue_depth(f"{PREFIX}.in", url=cluster.urls)
        cluster.stop(first)
        assert cluster.running() == sorted(node.name for node in cluster.nodes[1:])
        # The rest of the stream arrives through the surviving nodes.
        publish(PREFIX, bodies[5000:], declaring=False, url=cluster.urls)
        replies = answers(PREFIX, len(bodies), timeout_s=240, url=cluster.urls)
        wait_consuming(PREFIX, url=cluster.urls)
    finally:
        stop_worker(worker, log)
    assert waiting > 0  # the node went away in the middle of the stream
    assert_exactly_once(replies, store, len(bodies), expected_units, log)
    assert queue_depth(f"{PREFIX}.in", url=cluster.urls) == 0
    assert queue_depth(f"{PREFIX}.dead", url=cluster.urls) == 0
    assert f"127.0.0.1:{second.amqp_port}" in log.read_text()  # it failed over to the next node
    store.engine.dispose()
