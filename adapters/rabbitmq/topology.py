"""Exchanges and queues, declared idempotently by `tokenbridge topology` and at worker start.

    bank middleware --> [tokenbridge.in] (direct) --> (tokenbridge.in, quorum) --> workers
    workers --> [tokenbridge.out] (topic, key = reply type) --> (tokenbridge.out, quorum, '#')
    workers --> [tokenbridge.dead] (fanout) --> (tokenbridge.dead, quorum)
    workers --> [tokenbridge.retry] (direct, key = delay) --> (tokenbridge.retry.<n>ms, TTL)
                  --TTL expiry, dead-lettered--> [tokenbridge.in]
"""
from __future__ import annotations

from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel

IN_ROUTING_KEY = "inbound"
DELIVERY_LIMIT = 20
"""Broker-side safety net: a message redelivered this often (e.g. it crashes every worker
that takes it) is dead-lettered by the quorum queue itself."""


@dataclass(frozen=True, slots=True)
class Names:
    """Every name derives from one prefix (default `tokenbridge`), so environments can share a broker."""

    prefix: str = "tokenbridge"

    @property
    def inbound(self) -> str:
        return f"{self.prefix}.in"

    @property
    def outbound(self) -> str:
        return f"{self.prefix}.out"

    @property
    def dead(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def retry(self) -> str:
        return f"{self.prefix}.retry"

    def retry_queue(self, delay_s: float) -> str:
        return f"{self.prefix}.retry.{int(delay_s * 1000)}ms"


def declare(channel: BlockingChannel, names: Names, retry_delays_s: tuple[float, ...]) -> None:
    """Declare everything; safe to run any number of times with the same arguments."""
    quorum = {"x-queue-type": "quorum"}
    channel.exchange_declare(names.inbound, "direct", durable=True)
    channel.exchange_declare(names.outbound, "topic", durable=True)
    channel.exchange_declare(names.dead, "fanout", durable=True)
    channel.exchange_declare(names.retry, "direct", durable=True)
    channel.queue_declare(names.inbound, durable=True, arguments={
        **quorum, "x-delivery-limit": DELIVERY_LIMIT, "x-dead-letter-exchange": names.dead})
    channel.queue_bind(names.inbound, names.inbound, IN_ROUTING_KEY)
    # Replies are kept until the bank's middleware reads them, even if it binds late.
    channel.queue_declare(names.outbound, durable=True, arguments=quorum)
    channel.queue_bind(names.outbound, names.outbound, "#")
    channel.queue_declare(names.dead, durable=True, arguments=quorum)
    channel.queue_bind(names.dead, names.dead)
    for delay in sorted(set(retry_delays_s)):
        queue = names.retry_queue(delay)
        channel.queue_declare(queue, durable=True, arguments={
            "x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": names.inbound,
            "x-dead-letter-routing-key": IN_ROUTING_KEY})
        channel.queue_bind(queue, names.retry, queue)
