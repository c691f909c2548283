"""Helpers for tests against the real RabbitMQ: unique names, publishing, collecting replies."""
from __future__ import annotations

import time
from collections.abc import Callable

import pika

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def channel(url: str = AMQP_URL) -> tuple[pika.BlockingConnection, object]:
    """A channel on the test broker, or on the first node of `url` (several comma-separated)
    that answers."""
    connection = pika.BlockingConnection([pika.URLParameters(one) for one in url.split(",")])
    return connection, connection.channel()


def _drain(queue: str, until: Callable[[list], bool], timeout_s: float, entry,
           url: str = AMQP_URL) -> list[tuple]:
    """Consume (and ack) messages from `queue`, each kept as `entry(method, properties, body)`,
    until `until(kept)` or the timeout."""
    connection, ch = channel(url)
    got: list[tuple] = []
    deadline = time.monotonic() + timeout_s
    try:
        for method, properties, body in ch.consume(queue, inactivity_timeout=0.2):
            if method is not None:
                got.append(entry(method, properties, body))
                ch.basic_ack(method.delivery_tag)
            if until(got) or time.monotonic() > deadline:
                break
        ch.cancel()
    finally:
        connection.close()
    return got


def drain(queue: str, until: Callable[[list], bool], timeout_s: float = 60.0,
          url: str = AMQP_URL) -> list[tuple]:
    """Consume (and ack) messages from `queue` until `until(messages)` or the timeout:
    (properties, body) each."""
    return _drain(queue, until, timeout_s, lambda method, properties, body: (properties, body), url)


def drain_routed(queue: str, until: Callable[[list], bool],
                 timeout_s: float = 60.0) -> list[tuple[str, object, bytes]]:
    """`drain`, each message with the routing key it was published with first."""
    return _drain(queue, until, timeout_s,
                  lambda method, properties, body: (method.routing_key, properties, body))


NOTIFICATION_KEYS = "camt.054."
"""Routing keys of the camt.054 notifications the bridge publishes besides its answers."""


def drain_routed_answers(queue: str, until: Callable[[list], bool],
                         timeout_s: float = 60.0) -> list[tuple[str, object, bytes]]:
    """`drain_routed`, the camt.054 notifications left out (consumed all the same): the
    answers to the messages sent, as `until` counts them."""
    def answers(got: list[tuple]) -> list[tuple]:
        return [item for item in got if not item[0].startswith(NOTIFICATION_KEYS)]
    return answers(drain_routed(queue, lambda got: until(answers(got)), timeout_s))


def drain_answers(queue: str, until: Callable[[list], bool],
                  timeout_s: float = 60.0) -> list[tuple]:
    """`drain_routed_answers` as `drain` gives them: (properties, body) each."""
    return [(properties, body) for _, properties, body in drain_routed_answers(
        queue, lambda got: until([(p, b) for _, p, b in got]), timeout_s)]


def queue_depth(queue: str, url: str = AMQP_URL) -> int:
    connection, ch = channel(url)
    try:
        return ch.queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


RETRY_DELAYS_MS = (100, 200, 300, 500, 1000, 2000, 5000, 15000, 30000, 60000, 120000)


def delete_names(prefix: str) -> None:
    connection, ch = channel()
    try:
        for suffix in ("in", "out", "dead"):
            ch.queue_delete(f"{prefix}.{suffix}")
        for delay in RETRY_DELAYS_MS:
            ch.queue_delete(f"{prefix}.retry.{delay}ms")  # classic, of earlier releases
            ch.queue_delete(f"{prefix}.retry.{delay}ms.quorum")
        for suffix in ("in", "out", "dead", "retry"):
            ch.exchange_delete(f"{prefix}.{suffix}")
    finally:
        connection.close()


def _wait_on_queue(queue: str, ready, timeout_s: float, poll_s: float, what: str,
                   url: str = AMQP_URL) -> None:
    """Poll `queue` (passively declared) until `ready(declare_ok.method)` holds."""
    connection, ch = channel(url)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready(ch.queue_declare(queue, passive=True).method):
            assert time.monotonic() < deadline, what
            time.sleep(poll_s)
    finally:
        connection.close()


def wait_consuming(prefix: str, timeout_s: float = 30, url: str = AMQP_URL) -> None:
    """Until a worker consumes from the inbound queue: a worker told to stop while Python is
    still importing (before its handlers exist) dies by the signal instead of stopping."""
    _wait_on_queue(f"{prefix}.in", lambda q: q.consumer_count >= 1, timeout_s, 0.1,
                   "the worker never started consuming", url)


def wait_answering(prefix: str, timeout_s: float = 30, url: str = AMQP_URL, at_least: int = 1) -> None:
    """Until the worker has answered at least one message (a reply waits in `<prefix>.out`):
    it is then in the middle of a stream, whatever the machine's speed."""
    _wait_on_queue(f"{prefix}.out", lambda q: q.message_count >= at_least, timeout_s, 0.02,
                   "the worker never answered", url)


def wait_depth(queue: str, depth: int, timeout_s: float = 30) -> None:
    """Until `queue` holds at least `depth` messages."""
    _wait_on_queue(queue, lambda q: q.message_count >= depth, timeout_s, 0.05,
                   f"{queue} never held {depth} message(s)")


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30,
             poll_s: float = 0.05) -> None:
    """Until `condition()` holds: for a state another thread reaches in its own time (a
    settlement round failing against a hung node), never a fixed pause."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(poll_s)
