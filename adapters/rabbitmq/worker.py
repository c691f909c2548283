"""The worker: consume inbound messages, run the pipeline, publish replies from the outbox with
confirms, ack. At-least-once in, exactly-once effects.

Per batch (up to `batch_size` deliveries, or what arrived within `max_wait_s`):
1. the messages run through the pipeline in one unit of work: their effects, inbox records and
   replies commit together, once (`Pipeline.handle_batch`; one at a time if that fails);
2. replies, dead letters and retries are all published, then their confirms awaited at once;
3. the replies are marked published in the outbox (one transaction);
4. the batch is acked with one `multiple` ack.
A crash anywhere re-delivers unacked messages: the inbox answers them with the reply recorded
the first time (same `message_id`, so reply consumers can dedupe) and applies nothing again.
Replies committed but never confirmed are re-published by the sweep at start and every
`sweep_interval_s`.

On a ledger that settles after the answer (EVM: ACSP, then ACSC or RJCT), `settle` runs a
settlement round after each batch and every `settle_interval_s` when idle; the follow-up
pacs.002s it committed to the outbox are published and marked like replies.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel

from adapters.metrics import WorkerMetrics
from adapters.rabbitmq.channel import (CONNECTION_ERRORS, PERSISTENT, confirmed_channel, connect,
                                       reply_properties)
from adapters.rabbitmq.publisher import ConfirmedPublisher
from adapters.rabbitmq.topology import IN_ROUTING_KEY, Names, declare
from bridge.delivery import RetryPolicy, dead_letter_reason
from bridge.messages import OutboundMessage
from bridge.pipeline import MessageOutcome, Pipeline
from bridge.ports import UnitOfWork

log = structlog.get_logger("tokenbridge.worker")

ATTEMPTS_HEADER = "x-tokenbridge-attempts"
REASON_HEADER = "x-tokenbridge-reason"


@dataclass(frozen=True)
class WorkerOptions:
    names: Names = Names()
    prefetch: int = 200
    batch_size: int = 100
    max_wait_s: float = 0.02
    retry: RetryPolicy = RetryPolicy()
    sweep_interval_s: float = 5.0
    sweep_age_s: float = 10.0  # younger unpublished replies may be in another worker's hands
    settle_interval_s: float = 1.0


@dataclass
class _Batch:
    deliveries: list[tuple[pika.spec.Basic.Deliver, pika.BasicProperties, bytes, float]] = field(default_factory=list)
    replies: list[OutboundMessage] = field(default_factory=list)
    dead: list[tuple[bytes, pika.BasicProperties, str]] = field(default_factory=list)
    retries: list[tuple[bytes, pika.BasicProperties, int, float]] = field(default_factory=list)


class Worker:
    def __init__(self, pipeline: Pipeline, unit_of_work: Callable[[], UnitOfWork], amqp_url: str,
                 options: WorkerOptions = WorkerOptions(), metrics: WorkerMetrics | None = None,
                 settle: Callable[[], list[OutboundMessage]] | None = None) -> None:
        self.pipeline = pipeline
        self.settle = settle
        self.unit_of_work = unit_of_work
        self.amqp_url = amqp_url
        self.options = options
        self.metrics = metrics or WorkerMetrics()
        self._last_sweep = 0.0
        self._last_settle = 0.0

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; reconnect with back-off whenever the broker goes away."""
        while not stop.is_set():
            try:
                connection = connect(self.amqp_url, stop=stop)
            except CONNECTION_ERRORS:
                return  # stop was set while the broker was unreachable
            try:
                self._session(connection, stop)
            except CONNECTION_ERRORS as error:
                log.warning("broker connection lost; reconnecting", error=type(error).__name__)
                time.sleep(0.5)
            finally:
                if connection.is_open:
                    try:
                        connection.close()
                    except CONNECTION_ERRORS:
                        pass
        log.info("worker stopped")

    def _session(self, connection: pika.BlockingConnection, stop: threading.Event) -> None:
        channel = confirmed_channel(connection)
        declare(channel, self.options.names, self.options.retry.delays_s)
        channel.basic_qos(prefetch_count=self.options.prefetch)
        publisher = ConfirmedPublisher(connection)
        self._sweep(publisher)
        log.info("worker consuming", queue=self.options.names.inbound, prefetch=self.options.prefetch)
        batch = _Batch()
        for method, properties, body in channel.consume(
                self.options.names.inbound, inactivity_timeout=self.options.max_wait_s):
            if method is not None:
                batch.deliveries.append((method, properties, body, time.perf_counter()))
            # A batch goes when full, when nothing more arrives, or when its first delivery
            # has waited max_wait_s: a steady trickle must not hold a batch until it fills.
            if batch.deliveries and (method is None or len(batch.deliveries) >= self.options.batch_size
                                     or stop.is_set()
                                     or time.perf_counter() - batch.deliveries[0][3] >= self.options.max_wait_s):
                self._flush(channel, publisher, batch)
                batch = _Batch()
            if stop.is_set():
                break
            if time.monotonic() - self._last_sweep > self.options.sweep_interval_s:
                self._sweep(publisher)
            if self.settle is not None and (
                    time.monotonic() - self._last_settle > self.options.settle_interval_s):
                self._settle(publisher)
        # Unprocessed prefetched deliveries go back to the queue when the channel closes.
        channel.cancel()

    def _flush(self, channel: BlockingChannel, publisher: ConfirmedPublisher, batch: _Batch) -> None:
        results = self.pipeline.handle_batch([body for _, _, body, _ in batch.deliveries])
        for (_, properties, body, _), result in zip(batch.deliveries, results):
            self._sort(body, properties, result, batch)
        for reply in batch.replies:
            publisher.publish(self.options.names.outbound, reply.message_type, reply.body,
                              reply_properties(reply))
        for body, properties, reason in batch.dead:
            self._dead_letter(publisher, body, properties, reason)
        for body, properties, attempts, delay in batch.retries:
            self._retry(publisher, body, properties, attempts, delay)
        publisher.wait()  # all confirmed, or PublishFailed: nothing is acked, all comes again
        if batch.replies:
            self._mark_published([r.message_id for r in batch.replies])
        channel.basic_ack(batch.deliveries[-1][0].delivery_tag, multiple=True)
        now = time.perf_counter()
        for *_, started in batch.deliveries:
            self.metrics.latency.observe(now - started)
        if self.settle is not None:
            self._settle(publisher)  # submit what this batch planned without waiting for the timer

    def _settle(self, publisher: ConfirmedPublisher) -> None:
        """One settlement round; its follow-up pacs.002s (already in the outbox) published."""
        self._last_settle = time.monotonic()
        try:
            follow_ups = self.settle()
        except CONNECTION_ERRORS:
            raise
        except Exception as error:  # noqa: BLE001 - node or store down: the next round resumes
            log.warning("settlement round failed", error=type(error).__name__,
                        detail=str(error).splitlines()[0][:200] if str(error) else "")
            self.metrics.settlement_failures.inc()
            return
        self._publish_replies(publisher, follow_ups)
        self.metrics.follow_ups.inc(len(follow_ups))

    def _publish_replies(self, publisher: ConfirmedPublisher, replies: list[OutboundMessage]) -> None:
        for reply in replies:
            publisher.publish(self.options.names.outbound, reply.message_type, reply.body,
                              reply_properties(reply))
        publisher.wait()
        if replies:
            self._mark_published([r.message_id for r in replies])

    def _sort(self, body: bytes, properties: pika.BasicProperties,
              result: MessageOutcome | Exception, batch: _Batch) -> None:
        """A message's result into the batch: its reply, or a dead letter, or a retry."""
        if isinstance(result, Exception):
            error = result
            attempts = int((properties.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
            # Only a transient failure (store or ledger unreachable) can succeed later.
            delay = (self.options.retry.delay_after(attempts)
                     if self.pipeline.is_transient(error) else None)
            reason = f"{type(error).__name__} after {attempts} attempt(s): {str(error).splitlines()[0][:200] if str(error) else ''}"
            log.warning("message failed", attempts=attempts, error=type(error).__name__,
                        retry_in_s=delay, message_id=properties.message_id)
            if delay is None:
                batch.dead.append((body, properties, reason))
            else:
                batch.retries.append((body, properties, attempts, delay))
            return
        self.metrics.observe(result)
        if result.reply is not None:
            batch.replies.append(result.reply)
        reason = dead_letter_reason(result)
        if reason is not None:
            batch.dead.append((body, properties, reason))

    def _dead_letter(self, publisher: ConfirmedPublisher, body: bytes,
                     properties: pika.BasicProperties, reason: str) -> None:
        headers = dict(properties.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        headers["x-tokenbridge-dead-at"] = datetime.now(timezone.utc).isoformat()
        publisher.publish(self.options.names.dead, "", body, pika.BasicProperties(
            message_id=properties.message_id, correlation_id=properties.correlation_id,
            content_type=properties.content_type, type=properties.type, headers=headers,
            delivery_mode=PERSISTENT))
        self.metrics.dead_lettered.labels(reason.split(":", 1)[0][:40]).inc()
        log.warning("dead-lettered", message_id=properties.message_id, reason=reason[:200])

    def _retry(self, publisher: ConfirmedPublisher, body: bytes, properties: pika.BasicProperties,
               attempts: int, delay: float) -> None:
        headers = dict(properties.headers or {})
        headers[ATTEMPTS_HEADER] = attempts
        queue = self.options.names.retry_queue(delay)
        publisher.publish(self.options.names.retry, queue, body, pika.BasicProperties(
            message_id=properties.message_id, correlation_id=properties.correlation_id,
            content_type=properties.content_type, type=properties.type, headers=headers,
            delivery_mode=PERSISTENT))
        self.metrics.retried.inc()

    def _mark_published(self, message_ids: list[str]) -> None:
        try:
            with self.unit_of_work() as uow:
                uow.outbox.mark_published(message_ids)
                uow.commit()
        except Exception as error:  # noqa: BLE001 - the sweep re-publishes; consumers dedupe
            log.warning("could not mark replies published", count=len(message_ids),
                        error=type(error).__name__)

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


def describe_headers(headers: dict | None) -> str:
    return json.dumps({k: str(v) for k, v in (headers or {}).items()}, ensure_ascii=False)
