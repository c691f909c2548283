"""Exchanges and queues, declared idempotently by `tokenbridge topology` and at worker start.

    bank middleware --> [tokenbridge.in] (fanout: any key) --> (tokenbridge.in, quorum) --> workers
    workers --> [tokenbridge.out] (topic, key = reply type) --> (tokenbridge.out, quorum, '#')
    workers --> [tokenbridge.dead] (fanout) --> (tokenbridge.dead, quorum)
    workers --> [tokenbridge.retry] (direct, key = queue) --> (tokenbridge.retry.<n>ms.quorum, TTL)
                  --TTL expiry, dead-lettered at least once--> [tokenbridge.in]

Every queue is a quorum queue: in a cluster it has a replica on every node (RabbitMQ's default
for a quorum queue; `x-quorum-initial-group-size` is not set, because the broker refuses to
redeclare an existing queue with an argument it was not declared with), so losing one node of
three loses no message and blocks no declaration. Earlier releases declared the retry queues
as classic queues (`tokenbridge.retry.<n>ms`), which live on one node: with that node down,
the worker's declaration failed on every other node. Those are retired when empty; one that
still holds messages keeps expiring them into the inbound queue (see `retire_classic_retry_queues`).

Earlier releases declared the inbound exchange direct, bound with the key `inbound` only: a message
published with any other key was confirmed and dropped. An existing direct (or other) inbound
exchange is migrated: deleted and declared again as fanout, the queue (which outlives the
exchange, messages and all) bound again. See `declare_inbound_exchange`.
"""
from __future__ import annotations

from dataclasses import dataclass

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel

log = structlog.get_logger("tokenbridge.amqp")

INBOUND_EXCHANGE_TYPE = "fanout"
"""Every message published to the inbound exchange reaches the inbound queue, whatever its key."""
IN_ROUTING_KEY = "inbound"
"""The key the bridge itself publishes inbound messages with, and retry queues dead-letter
with: any key routes now; this one also routes on a not yet migrated (direct) exchange."""
PRECONDITION_FAILED = 406


class MigrationPending(RuntimeError):
    """The inbound exchange still has its old type and cannot be migrated safely right now."""
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
        return f"{self.prefix}.retry.{int(delay_s * 1000)}ms.quorum"

    def classic_retry_queue(self, delay_s: float) -> str:
        """The retry queue of earlier releases: a classic queue (see the module's note)."""
        return f"{self.prefix}.retry.{int(delay_s * 1000)}ms"


def declare(channel: BlockingChannel, names: Names, retry_delays_s: tuple[float, ...]) -> None:
    """Declare everything; safe to run any number of times with the same arguments. An inbound
    exchange of the old type is migrated (`declare_inbound_exchange`); MigrationPending, raised
    once everything else is declared, says when that has to wait."""
    quorum = {"x-queue-type": "quorum"}
    channel.exchange_declare(names.outbound, "topic", durable=True)
    channel.exchange_declare(names.dead, "fanout", durable=True)
    channel.exchange_declare(names.retry, "direct", durable=True)
    channel.queue_declare(names.inbound, durable=True, arguments={
        **quorum, "x-delivery-limit": DELIVERY_LIMIT, "x-dead-letter-exchange": names.dead})
    # Replies are kept until the bank's middleware reads them, even if it binds late.
    channel.queue_declare(names.outbound, durable=True, arguments=quorum)
    channel.queue_bind(names.outbound, names.outbound, "#")
    channel.queue_declare(names.dead, durable=True, arguments=quorum)
    channel.queue_bind(names.dead, names.dead)
    for delay in sorted(set(retry_delays_s)):
        queue = names.retry_queue(delay)
        # At-least-once dead-lettering (which needs reject-publish overflow): an expiring
        # message is dropped only once the inbound queue has confirmed it.
        channel.queue_declare(queue, durable=True, arguments={
            **quorum, "x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": names.inbound,
            "x-dead-letter-routing-key": IN_ROUTING_KEY, "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish"})
        channel.queue_bind(queue, names.retry, queue)
    retire_classic_retry_queues(channel, names, retry_delays_s)
    declare_inbound_exchange(channel, names, retry_delays_s)


def retire_classic_retry_queues(channel: BlockingChannel, names: Names,
                                retry_delays_s: tuple[float, ...]) -> None:
    """Delete earlier releases' classic retry queues that are empty. One that still holds
    messages, or whose node is down, is left alone: nothing routes to it any more, and its
    messages go on expiring into the inbound queue; a later declaration deletes it."""
    for delay in sorted(set(retry_delays_s)):
        probe = channel.connection.channel()  # the broker closes the channel that is refused
        try:
            probe.queue_delete(names.classic_retry_queue(delay), if_empty=True)
        except pika.exceptions.ChannelClosedByBroker:
            continue  # 406: not empty; 404: its node is down
        probe.close()


def declare_inbound_exchange(channel: BlockingChannel, names: Names,
                             retry_delays_s: tuple[float, ...]) -> bool:
    """Declare the inbound exchange as fanout, bound to the inbound queue; True if an exchange of
    another type was migrated.

    The broker refuses to redeclare an exchange with another type (PRECONDITION_FAILED), so an
    old one is deleted and declared again. Nothing queued is lost: the inbound queue outlives
    its exchange. For the moment in between, a publisher using confirms gets an error (no such
    exchange) rather than a silent loss; a retry queue's expiring message would be dropped,
    so the migration waits (MigrationPending) until every retry queue is empty.
    """
    if _declared(channel, names.inbound, INBOUND_EXCHANGE_TYPE):
        channel.queue_bind(names.inbound, names.inbound, IN_ROUTING_KEY)
        return False
    waiting = {queue: _waiting(channel, queue) for delay in set(retry_delays_s)
               for queue in (names.retry_queue(delay), names.classic_retry_queue(delay))}
    if any(waiting.values()):
        raise MigrationPending(
            f"the exchange {names.inbound} is of an older type and still routes only the key "
            f"{IN_ROUTING_KEY!r}; it is migrated once the retry queues are empty "
            f"({', '.join(f'{q}: {n}' for q, n in sorted(waiting.items()) if n)} message(s) waiting)")
    channel.exchange_delete(names.inbound)
    channel.exchange_declare(names.inbound, INBOUND_EXCHANGE_TYPE, durable=True)
    channel.queue_bind(names.inbound, names.inbound, IN_ROUTING_KEY)
    log.warning("inbound exchange migrated to fanout; queued messages kept",
                exchange=names.inbound, queue=names.inbound)
    return True


def _waiting(channel: BlockingChannel, queue: str) -> int:
    """The messages in `queue`; 0 when there is no such queue. On a channel of its own: the
    broker closes the channel that asks for a queue that does not exist."""
    probe = channel.connection.channel()
    try:
        waiting = probe.queue_declare(queue, passive=True).method.message_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    probe.close()
    return waiting


def _declared(channel: BlockingChannel, exchange: str, kind: str) -> bool:
    """Declare `exchange` of `kind`; False when it exists with another type. On a channel of
    its own: the broker closes the channel that asks for a type change."""
    probe = channel.connection.channel()
    try:
        probe.exchange_declare(exchange, kind, durable=True)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != PRECONDITION_FAILED:
            raise
        return False
    probe.close()
    return True
