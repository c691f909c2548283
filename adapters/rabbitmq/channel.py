"""Connections and confirmed publishing (pika BlockingConnection)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel

from adapters.rabbitmq.properties import PERSISTENT, install_tolerant_decoding
from bridge.messages import OutboundMessage

log = structlog.get_logger("tokenbridge.amqp")

install_tolerant_decoding()  # no delivery's header table may raise out of the event loop
CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError,
                     pika.exceptions.StreamLostError, ConnectionError, OSError)


def parameters(url: str) -> list[pika.URLParameters]:
    """One URL, or several comma-separated (nodes of one cluster): pika tries them in turn."""
    found = []
    for one in (part.strip() for part in url.split(",") if part.strip()):
        params = pika.URLParameters(one)
        params.heartbeat = 30
        params.blocked_connection_timeout = 60
        params.connection_attempts = 1
        found.append(params)
    return found


def redacted_url(url: str) -> str:
    """The AMQP URL(s) without the password."""
    shown = []
    for one in (part.strip() for part in url.split(",") if part.strip()):
        params = pika.URLParameters(one)
        shown.append(f"amqp://{params.credentials.username}:***@{params.host}:{params.port}/")
    return ",".join(shown)


def connect(url: str, *, attempts: int | None = None, max_backoff_s: float = 15.0,
            stop=None) -> pika.BlockingConnection:
    """Connect, retrying with exponential back-off (forever unless `attempts` is given or
    `stop` is set)."""
    delay, attempt = 0.2, 0
    while True:
        attempt += 1
        try:
            return pika.BlockingConnection(parameters(url))
        except CONNECTION_ERRORS as error:
            if (attempts is not None and attempt >= attempts) or (stop is not None and stop.is_set()):
                raise
            log.warning("broker unreachable; retrying", broker=redacted_url(url),
                        attempt=attempt, error=type(error).__name__, retry_in_s=round(delay, 1))
            time.sleep(delay)
            delay = min(delay * 2, max_backoff_s)


def confirmed_channel(connection: pika.BlockingConnection) -> BlockingChannel:
    """A channel in publisher-confirm mode: basic_publish returns once the broker has the
    message (and raises if it is nacked or unroutable)."""
    channel = connection.channel()
    channel.confirm_delivery()
    return channel


def reply_properties(message: OutboundMessage) -> pika.BasicProperties:
    """A reply's properties: persistent; its message_id is stable, so consumers can dedupe."""
    return pika.BasicProperties(message_id=message.message_id, correlation_id=message.correlation_id,
                                content_type=message.content_type, type=message.message_type,
                                delivery_mode=PERSISTENT, timestamp=int(time.time()))


def wait_for_broker(url: str, stop: threading.Event, *, wait: Callable[[float], object] | None = None,
                    first_delay_s: float = 0.2, max_backoff_s: float = 15.0) -> pika.BlockingConnection | None:
    """A connection, waiting with back-off (0.2 s doubling to 15 s, as the worker does after a
    loss) for as long as the broker is unreachable: a worker started before its broker waits
    for it. None when `stop` is set first. `wait(s)` pauses (default `stop.wait`, which a
    shutdown request ends at once)."""
    pause = stop.wait if wait is None else wait
    delay = first_delay_s
    while not stop.is_set():
        try:
            return connect(url, attempts=1)
        except CONNECTION_ERRORS as error:
            log.warning("broker unreachable at start; waiting for it", broker=redacted_url(url),
                        error=type(error).__name__, retry_in_s=round(delay, 1))
        pause(delay)
        delay = min(delay * 2, max_backoff_s)
    return None
