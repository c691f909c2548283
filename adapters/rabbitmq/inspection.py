"""The broker as the operations console sees it: queue depths and consumers, dead letters to
list, show and re-drive. Each call opens a short connection of its own (a web server's requests
come on any thread; a pika connection belongs to one), and declares the topology first, as
`tokenbridge dead ...` does, so a fresh broker shows empty queues rather than errors."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.dead_letters import DeadLetter, find_dead, list_dead, redrive, with_ids
from adapters.rabbitmq.topology import MigrationPending, Names, declare

CONNECT_ATTEMPTS = 2
"""A page waits for at most two connection attempts: an unreachable broker is shown, not awaited."""


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queue: str
    messages: int  # ready to be delivered (passive declare: unacknowledged ones are not counted)
    consumers: int


class BrokerInspection:
    """The broker's queues of one deployment (its names), for reading and re-driving."""

    def __init__(self, url: str, names: Names, retry_delays_s: Sequence[float]) -> None:
        self.url = url
        self.names = names
        self.retry_delays_s = tuple(retry_delays_s)

    @contextmanager
    def _channel(self) -> Iterator[BlockingChannel]:
        connection = connect(self.url, attempts=CONNECT_ATTEMPTS)
        try:
            channel = confirmed_channel(connection)
            try:
                declare(channel, self.names, self.retry_delays_s)
            except MigrationPending:
                pass  # an older inbound exchange still routes; `tokenbridge topology` migrates it
            yield channel
        finally:
            if connection.is_open:
                connection.close()

    def queue_depths(self) -> list[QueueDepth]:
        """Inbound, outbound, dead-letter and retry queues: depth and consumers (passive
        declares: no management plugin needed)."""
        queues = [self.names.inbound, self.names.outbound, self.names.dead,
                  *(self.names.retry_queue(d) for d in sorted(set(self.retry_delays_s)))]
        with self._channel() as channel:
            declared = [channel.queue_declare(q, passive=True).method for q in queues]
        return [QueueDepth(q, d.message_count, d.consumer_count) for q, d in zip(queues, declared)]

    def dead_letters(self) -> list[DeadLetter]:
        with self._channel() as channel:
            return list_dead(channel, self.names)

    def dead_letter(self, letter_id: str) -> DeadLetter | None:
        with self._channel() as channel:
            return find_dead(channel, self.names, letter_id)

    def redrive(self, letter_ids: Sequence[str]) -> list[str]:
        """Re-drive the dead letters whose ids start with one of `letter_ids`; the ids done."""
        with self._channel() as channel:
            return redrive(channel, self.names, with_ids(letter_ids))
