"""Reading what the bridge publishes on `<prefix>.out` (replies, follow-ups, reports), for
operations staff and scripts (`tokenbridge replies`).

Two ways: a temporary queue bound to the exchange sees what is published from now on (nothing
is taken from anyone); or a named queue (the `<prefix>.out` queue the topology declares, or a
bank's own) is browsed, its messages left where they are unless taken.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel

from adapters.rabbitmq.topology import Names


@dataclass(frozen=True)
class Reply:
    routing_key: str  # the message type (`pacs.002.001.10`, `report.reconciliation`, ...)
    message_id: str | None
    correlation_id: str | None
    content_type: str | None
    body: bytes


def topic_matches(binding: str, routing_key: str) -> bool:
    """Whether a topic exchange would route `routing_key` to a queue bound with `binding`
    (`*` one word, `#` zero or more)."""
    return _words_match(binding.split("."), routing_key.split("."))


def _words_match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_words_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _words_match(rest, words[1:])


def follow(channel: BlockingChannel, names: Names, binding: str, *, count: int | None,
           idle_s: float, ready: Callable[[str], None] = lambda _queue: None) -> Iterator[Reply]:
    """What is published on the outbound exchange with a key matching `binding` from now on,
    through a temporary queue (exclusive, deleted with the connection): until `count` have
    come, or none came for `idle_s`. `ready` is told the queue's name once it is bound."""
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue, names.outbound, routing_key=binding)
    ready(queue)
    seen = 0
    for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=idle_s):
        if method is None:
            break
        yield Reply(method.routing_key, properties.message_id, properties.correlation_id,
                    properties.content_type, body)
        seen += 1
        if count is not None and seen >= count:
            break
    channel.cancel()


def browse(channel: BlockingChannel, queue: str, binding: str, *, count: int | None,
           take: bool = False, idle_s: float = 0.0) -> Iterator[Reply]:
    """The messages waiting in a named queue whose routing key matches `binding`, oldest first,
    up to `count`; each left in the queue (released when done) unless `take`. With `idle_s`,
    waits that long for more once the queue is empty (until `count`)."""
    held: list[int] = []
    seen = 0
    deadline = time.monotonic() + idle_s
    try:
        while count is None or seen < count:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                if time.monotonic() >= deadline:
                    return
                channel.connection.sleep(0.05)  # keeps the connection's heartbeats going
                continue
            if not topic_matches(binding, method.routing_key):
                held.append(method.delivery_tag)
                continue
            if take:
                channel.basic_ack(method.delivery_tag)
            else:
                held.append(method.delivery_tag)
            seen += 1
            deadline = time.monotonic() + idle_s
            yield Reply(method.routing_key, properties.message_id, properties.correlation_id,
                        properties.content_type, body)
    finally:
        for tag in held:  # back where they were, for whoever reads them next
            channel.basic_nack(tag, requeue=True)
