"""The worker: consume inbound messages, run them through the bus, publish replies from the outbox with
confirms, ack. At-least-once in, exactly-once effects.

A batch is what has arrived when the worker is free: it goes as soon as no further delivery
comes within `linger_s` (the buffer is drained), when it holds `batch_size`, or when its first
delivery has waited `max_wait_s`. Under load, deliveries pile up while a batch runs, so batches
grow by themselves; under light load a message does not wait for company. Per batch:
1. the messages run through the message bus in one unit of work: their effects, inbox records and
   replies commit together, once (`MessageBus.handle_batch`; one at a time if that fails);
2. replies, dead letters and retries are all published, then their confirms awaited at once;
3. the batch is acked with one `multiple` ack;
4. the confirmed replies are marked published in the outbox, gathered over batches (one
   transaction at most every `mark_interval_s`, and whenever the worker is idle or stops).
A crash anywhere re-delivers unacked messages: the inbox answers them with the reply recorded
the first time (same `message_id`, so reply consumers can dedupe) and applies nothing again.
Replies committed but not marked published (never confirmed, or the worker died before
marking) are re-published by the sweep at start and every `sweep_interval_s`, once older than
`sweep_age_s`: far longer than a mark is ever deferred.

On a ledger that settles after the answer (EVM: ACSP, then ACSC or RJCT), `settle` runs a
settlement round after each batch and every `settle_interval_s`, on its own thread
(`SettlementLoop`): a node that is down or hangs only makes rounds fail (a log line and
`tokenbridge_settlement_failures_total`), never the consume path, which keeps answering. The
follow-up pacs.002s a round committed to the outbox are handed back to the consuming thread,
which alone talks to the broker, and published and marked like replies.
"""
from __future__ import annotations

import json
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel

from adapters.metrics import OutcomeTally, WorkerMetrics
from adapters.rabbitmq.channel import (CONNECTION_ERRORS, PERSISTENT, confirmed_channel, connect,
                                       node_of, reply_properties)
from adapters.rabbitmq.properties import forwarded, header_text
from adapters.rabbitmq.publisher import ConfirmedPublisher
from adapters.rabbitmq.topology import IN_ROUTING_KEY, MigrationPending, Names, declare
from bridge.content_encoding import UndecodableBody, decode_content
from bridge.delivery import RetryPolicy, attempts_so_far, dead_letter_reason
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES
from bridge.messages import OutboundMessage
from bridge.bus import MessageBus
from bridge.outcomes import MessageOutcome
from bridge.ports import UnitOfWork

log = structlog.get_logger("tokenbridge.worker")

ATTEMPTS_HEADER = "x-tokenbridge-attempts"
REASON_HEADER = "x-tokenbridge-reason"


@dataclass(frozen=True)
class WorkerOptions:
    names: Names = Names()
    prefetch: int = 200
    batch_size: int = 100
    linger_s: float = 0.001  # an open batch goes when nothing more arrives within this
    max_wait_s: float = 0.02  # ...or when its first delivery has waited this long
    idle_poll_s: float = 0.2  # how often an idle worker looks at stop, sweep and settle
    mark_interval_s: float = 0.5  # confirmed replies are marked published at least this often
    retry: RetryPolicy = RetryPolicy()
    sweep_interval_s: float = 5.0
    sweep_age_s: float = 10.0  # younger unpublished replies may be in another worker's hands
    settle_interval_s: float = 1.0
    max_message_bytes: int = DEFAULT_MAX_BYTES  # a compressed body decodes to this much at most


# A delivery as the worker holds it: with the moment pika dispatched it (perf_counter).
_Delivery = tuple[pika.spec.Basic.Deliver, pika.BasicProperties, bytes, float]


@dataclass
class _Batch:
    deliveries: list[_Delivery] = field(default_factory=list)
    outcomes: OutcomeTally = field(default_factory=OutcomeTally)  # counted in the metrics at once
    replies: list[OutboundMessage] = field(default_factory=list)
    dead: list[tuple[bytes, pika.BasicProperties, str]] = field(default_factory=list)
    retries: list[tuple[bytes, pika.BasicProperties, int, float]] = field(default_factory=list)


class SettlementLoop:
    """Settlement rounds on a thread of their own: one after each batch (`kick`) and every
    `interval_s`. Whatever a round raises (the node refusing connections, hanging until its
    timeout, the store away) fails that round only: a log line and the failures metric; the
    next round resumes from the store. The follow-ups a round committed wait in `take` for the
    consuming thread (pika connections are not thread-safe)."""

    def __init__(self, settle: Callable[[], list[OutboundMessage]], interval_s: float,
                 metrics: WorkerMetrics) -> None:
        self.settle = settle
        self.interval_s = interval_s
        self.metrics = metrics
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._ready: deque[OutboundMessage] = deque()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="settlement", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Run a round now (or as soon as the one running is done)."""
        self._kick.set()

    def take(self) -> list[OutboundMessage]:
        """The follow-ups committed since the last call, to publish."""
        taken = []
        while self._ready:
            taken.append(self._ready.popleft())
        return taken

    def stop(self, timeout_s: float = 60) -> None:
        """Let the round in progress finish (what it did not publish, the sweep does)."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(self.interval_s)
            self._kick.clear()
            if self._stop.is_set():
                break
            self.round()

    def round(self) -> None:
        try:
            follow_ups = self.settle()
        except Exception as error:  # noqa: BLE001 - OSErrors too: here they are the node's
            log.warning("settlement round failed", error=type(error).__name__,
                        detail=str(error).splitlines()[0][:200] if str(error) else "")
            self.metrics.settlement_failures.inc()
            follow_ups = []
        self._ready.extend(follow_ups)
        take_alerts = getattr(self.settle, "take_alerts", None)  # a ledger's chain alerts
        for alert, count in (take_alerts() if take_alerts is not None else {}).items():
            self.metrics.chain_alerts.labels(alert).inc(count)


class Worker:
    def __init__(self, bus: MessageBus, unit_of_work: Callable[[], UnitOfWork], amqp_url: str,
                 options: WorkerOptions = WorkerOptions(), metrics: WorkerMetrics | None = None,
                 settle: Callable[[], list[OutboundMessage]] | None = None) -> None:
        self.bus = bus
        self.settle = settle
        self.unit_of_work = unit_of_work
        self.amqp_url = amqp_url
        self.options = options
        self.metrics = metrics or WorkerMetrics()
        self._last_sweep = 0.0
        self.settlement = (SettlementLoop(settle, options.settle_interval_s, self.metrics)
                           if settle is not None else None)
        self._confirmed: list[str] = []  # replies confirmed by the broker, not yet marked
        self._last_mark = 0.0

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; reconnect with back-off whenever the broker goes away.
        Settlement rounds (a ledger that settles later) run on a thread of their own, so that
        a node that is down or hangs never holds up the consume path."""
        if self.settlement is not None:
            self.settlement.start()
        try:
            self._consume(stop)
        finally:
            if self.settlement is not None:
                self.settlement.stop()
        log.info("worker stopped")

    def _consume(self, stop: threading.Event) -> None:
        """With several broker URLs (nodes of one cluster), a lost node's successor is tried
        first: nothing is lost in the move, as unacked deliveries come again (the inbox answers
        them) and unconfirmed replies are published again (the outbox)."""
        node = None
        while not stop.is_set():
            try:
                connection = connect(self.amqp_url, stop=stop, after=node)
            except CONNECTION_ERRORS:
                return  # stop was set while the broker was unreachable
            node = node_of(connection)
            log.info("broker connected", node=node)
            try:
                self._session(connection, stop)
            except CONNECTION_ERRORS as error:
                log.warning("broker connection lost; reconnecting", error=type(error).__name__)
                time.sleep(0.5)
            except Exception as error:  # noqa: BLE001 - a defect must not stop every worker in turn
                # Unacked deliveries come again; one that always fails here is dead-lettered
                # by the inbound queue's delivery limit.
                log.error("worker session failed; reconnecting", error=type(error).__name__,
                          detail=str(error)[:300], exc_info=True)
                time.sleep(0.5)
            finally:
                if connection.is_open:
                    try:
                        connection.close()
                    except CONNECTION_ERRORS:
                        pass

    def _session(self, connection: pika.BlockingConnection, stop: threading.Event) -> None:
        channel = confirmed_channel(connection)
        try:
            declare(channel, self.options.names, self.options.retry.delays_s)
        except MigrationPending as pending:  # the old exchange still routes the bridge's own key
            log.warning("inbound exchange not migrated yet", reason=str(pending))
        channel.basic_qos(prefetch_count=self.options.prefetch)
        publisher = ConfirmedPublisher(connection)
        self._sweep(publisher)
        # Deliveries are stamped as pika dispatches them, including while a batch is running
        # (its confirm wait drives the same connection), so the latency histogram counts the
        # time a message waits for the batch before its own.
        arrived: list[_Delivery] = []
        tag = channel.basic_consume(
            self.options.names.inbound,
            lambda _ch, method, properties, body: arrived.append(
                (method, properties, body, time.perf_counter())))
        log.info("worker consuming", queue=self.options.names.inbound, prefetch=self.options.prefetch)
        try:
            while True:
                before = len(arrived)
                if arrived and (self._full(arrived) or stop.is_set()):
                    connection.process_data_events(time_limit=0)  # what is there; no waiting
                else:
                    connection.process_data_events(
                        time_limit=self.options.linger_s if arrived else self.options.idle_poll_s)
                drained = len(arrived) == before
                if arrived and (drained or stop.is_set() or self._full(arrived)):
                    batch, arrived[:] = arrived[:self.options.batch_size], arrived[self.options.batch_size:]
                    self._flush(channel, publisher, _Batch(deliveries=batch))
                if stop.is_set():
                    break
                self._housekeeping(publisher, idle=not arrived)
        finally:
            self._mark_published()  # replies confirmed so far, even when the broker went away
        # Deliveries not yet in a batch go back to the queue when the channel closes.
        channel.basic_cancel(tag)

    def _full(self, arrived: list) -> bool:
        return (len(arrived) >= self.options.batch_size
                or time.perf_counter() - arrived[0][3] >= self.options.max_wait_s)

    def _housekeeping(self, publisher: ConfirmedPublisher, idle: bool) -> None:
        if idle or time.monotonic() - self._last_mark >= self.options.mark_interval_s:
            self._mark_published()
        if time.monotonic() - self._last_sweep > self.options.sweep_interval_s:
            self._sweep(publisher)
        if self.settlement is not None:
            self._publish_follow_ups(publisher)

    def _flush(self, channel: BlockingChannel, publisher: ConfirmedPublisher, batch: _Batch) -> None:
        lap = self._laps(batch.deliveries[0][3])
        self.metrics.batch_size.observe(len(batch.deliveries))
        lap("collect")
        # The bus reads the message inside the transport's encoding; what cannot be
        # decoded is dead-lettered with the reason, the rest of the batch goes on.
        readable, messages = [], []
        for _, properties, body, _ in batch.deliveries:
            message = decode_content(body, properties.content_encoding, self.options.max_message_bytes)
            if isinstance(message, UndecodableBody):
                batch.dead.append((body, properties, f"content-encoding: {message}"))
            else:
                readable.append((body, properties))
                messages.append(message)
        results = self.bus.handle_batch(messages)
        for (body, properties), result in zip(readable, results):
            try:
                self._sort(body, properties, result, batch)
            except Exception as error:  # noqa: BLE001 - one message, never the batch or the worker
                log.error("could not sort a message's result; dead-lettering it",
                          error=type(error).__name__, detail=str(error)[:300], exc_info=True)
                batch.dead.append((body, properties, f"internal: {type(error).__name__}: {error}"[:300]))
        self.metrics.observe(batch.outcomes)
        lap("pipeline")
        self._publish(publisher, batch.replies)
        for body, properties, reason in batch.dead:
            self._dead_letter(publisher, body, properties, reason)
        for body, properties, attempts, delay in batch.retries:
            self._retry(publisher, body, properties, attempts, delay)
        lap("publish")
        publisher.wait()  # all confirmed, or PublishFailed: nothing is acked, all comes again
        lap("confirm")
        channel.basic_ack(batch.deliveries[-1][0].delivery_tag, multiple=True)
        now = lap("ack")
        for *_, started in batch.deliveries:
            self.metrics.latency.observe(now - started)
        self._confirmed.extend(r.message_id for r in batch.replies)  # marked by _housekeeping
        if self.settlement is not None:
            self.settlement.kick()  # submit what this batch planned without waiting for the timer
            self._publish_follow_ups(publisher)

    def _laps(self, since: float) -> Callable[[str], float]:
        """A stopwatch over the batch's phases: each call observes the time since the last one."""
        last = [since]

        def lap(phase: str) -> float:
            now = time.perf_counter()
            self.metrics.batch_phase.labels(phase).observe(now - last[0])
            last[0] = now
            return now
        return lap

    def _publish_follow_ups(self, publisher: ConfirmedPublisher) -> None:
        """The follow-up pacs.002s settlement rounds committed to the outbox, published."""
        follow_ups = self.settlement.take()
        if follow_ups:
            self._publish_replies(publisher, follow_ups)
            self.metrics.follow_ups.inc(len(follow_ups))

    def _publish(self, publisher: ConfirmedPublisher, replies: list[OutboundMessage]) -> None:
        for reply in replies:
            publisher.publish(self.options.names.outbound, reply.message_type, reply.body,
                              reply_properties(reply))

    def _publish_replies(self, publisher: ConfirmedPublisher, replies: list[OutboundMessage]) -> None:
        """Published and confirmed; marked published with the next marks (_housekeeping)."""
        self._publish(publisher, replies)
        publisher.wait()
        self._confirmed.extend(r.message_id for r in replies)

    def _sort(self, body: bytes, properties: pika.BasicProperties,
              result: MessageOutcome | Exception, batch: _Batch) -> None:
        """A message's result into the batch: its reply, or a dead letter, or a retry."""
        if isinstance(result, Exception):
            error = result
            attempts = attempts_so_far((properties.headers or {}).get(ATTEMPTS_HEADER)) + 1
            # Only a transient failure (store or ledger unreachable) can succeed later.
            delay = (self.options.retry.delay_after(attempts)
                     if self.bus.is_transient(error) else None)
            reason = f"{type(error).__name__} after {attempts} attempt(s): {str(error).splitlines()[0][:200] if str(error) else ''}"
            log.warning("message failed", attempts=attempts, error=type(error).__name__,
                        retry_in_s=delay, message_id=properties.message_id)
            if delay is None:
                batch.dead.append((body, properties, reason))
            else:
                batch.retries.append((body, properties, attempts, delay))
            return
        batch.outcomes.add(result)
        if result.reply is not None:
            batch.replies.append(result.reply)
        batch.replies.extend(result.emitted)  # published like replies, after them
        reason = dead_letter_reason(result)
        if reason is not None:
            batch.dead.append((body, properties, reason))

    def _dead_letter(self, publisher: ConfirmedPublisher, body: bytes,
                     properties: pika.BasicProperties, reason: str) -> None:
        headers = dict(properties.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        headers["x-tokenbridge-dead-at"] = datetime.now(timezone.utc).isoformat()
        self._publish_keeping(publisher, self.options.names.dead, "", body,
                              forwarded(properties, headers, dead=True))
        self.metrics.dead_lettered.labels(reason.split(":", 1)[0][:40]).inc()
        log.warning("dead-lettered", message_id=properties.message_id, reason=reason[:200])

    def _retry(self, publisher: ConfirmedPublisher, body: bytes, properties: pika.BasicProperties,
               attempts: int, delay: float) -> None:
        headers = dict(properties.headers or {})
        headers[ATTEMPTS_HEADER] = attempts
        queue = self.options.names.retry_queue(delay)
        self._publish_keeping(publisher, self.options.names.retry, queue, body,
                              forwarded(properties, headers, dead=False))
        self.metrics.retried.inc()

    @staticmethod
    def _publish_keeping(publisher: ConfirmedPublisher, exchange: str, routing_key: str,
                         body: bytes, properties: pika.BasicProperties) -> None:
        """Publish with the original properties; should one of them not encode again (pika
        refuses some values it decoded), with the headers as text instead."""
        try:
            publisher.publish(exchange, routing_key, body, properties)
        except (pika.exceptions.UnsupportedAMQPFieldException, pika.exceptions.ShortStringTooLong,
                struct.error, TypeError, ValueError) as error:
            log.warning("a property does not encode; headers kept as text", error=type(error).__name__)
            properties.headers = {header_text(k): describe_value(v)
                                  for k, v in (properties.headers or {}).items()}
            publisher.publish(exchange, routing_key, body, properties)

    def _mark_published(self) -> None:
        """Mark the replies confirmed so far published. Deferring this is safe: an unmarked
        reply is at worst published once more by a sweep, with the same message_id."""
        self._last_mark = time.monotonic()
        if not self._confirmed:
            return
        message_ids, self._confirmed = self._confirmed, []
        started = time.perf_counter()
        try:
            with self.unit_of_work() as uow:
                uow.outbox.mark_published(message_ids)
                uow.commit()
        except Exception as error:  # noqa: BLE001 - the sweep re-publishes; consumers dedupe
            log.warning("could not mark replies published", count=len(message_ids),
                        error=type(error).__name__)
        self.metrics.batch_phase.labels("mark").observe(time.perf_counter() - started)

    def _sweep(self, publisher: ConfirmedPublisher) -> None:
        """Publish replies committed but not confirmed (after a crash, or a failed mark). Only
        rows older than `sweep_age_s`: younger ones may be in a live worker's hands right now."""
        self._last_sweep = time.monotonic()
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.options.sweep_age_s)
        try:
            while True:
                with self.unit_of_work() as uow:
                    pending = uow.outbox.pending(limit=500, created_before=cutoff)
                    backlog = uow.outbox.backlog()
                self.metrics.outbox_backlog.set(backlog)
                if not pending:
                    return
                self._publish_replies(publisher, pending)
                self._mark_published()  # now: the next round must not find the same rows
                log.info("outbox relayed", count=len(pending))
        except CONNECTION_ERRORS:
            raise
        except Exception as error:  # noqa: BLE001 - store down: try again at the next sweep
            log.warning("outbox sweep failed", error=type(error).__name__)


def publish_files(channel: BlockingChannel, names: Names, messages: list[tuple[str, bytes]]) -> int:
    """What bank middleware does: publish each message, persistent and confirmed. The
    message_id is the SHA-256 of the bytes, so a message keeps its identity when re-published."""
    import hashlib
    for source, body in messages:
        channel.basic_publish(names.inbound, IN_ROUTING_KEY, body, pika.BasicProperties(
            message_id=hashlib.sha256(body).hexdigest(), content_type="application/xml",
            delivery_mode=PERSISTENT, headers={"x-tokenbridge-source": source[-200:]}),
            mandatory=True)
    return len(messages)


def describe_value(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def describe_headers(headers: dict | None) -> str:
    return json.dumps({header_text(k): describe_value(v)[:1000] for k, v in (headers or {}).items()},
                      ensure_ascii=False)
