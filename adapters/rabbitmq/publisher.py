"""Publishing many messages with one wait for all their confirms.

pika's BlockingChannel in confirm mode waits for each message's confirm before the next publish:
one round trip, and on a quorum queue one Raft commit, per message (about 0.9 ms here, 1,100
messages/s at best). This publisher drives an asynchronous channel of the same connection
instead: everything is published, then the confirms are awaited together (10,000+ messages/s).
The guarantee is the same: `wait()` returns only once the broker has confirmed every message,
and raises if any was nacked, returned as unroutable, or not confirmed in time.

The frames of what is published are written to the connection together when `wait()` begins,
not three socket writes per message: a batch's replies go out in a few TCP segments instead of
hundreds, which costs this process and the broker less per message. They are the frames pika's
`basic_publish` would write (`message_frames`), on the same channel.
"""
from __future__ import annotations

import struct
import time

import pika
from pika import frame, spec
from pika.exceptions import AMQPChannelError

CONFIRM_TIMEOUT_S = 30.0
WRITE_CHUNK_BYTES = 256 * 1024
"""Frames are handed to the connection in pieces of about this size: big enough to take a batch
of replies in one or two writes, small enough that a partial socket send copies little."""
_FRAME_END = bytes((spec.FRAME_END,))


class PublishFailed(AMQPChannelError):
    """Some messages were not confirmed: the caller treats the channel as lost (it reconnects,
    acks nothing, and what was to be published is published again)."""


class ConfirmedPublisher:
    def __init__(self, connection: pika.BlockingConnection, timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self._closed: str | None = None
        self._tag = 0
        self._pending: set[int] = set()
        self._failed: list[str] = []
        self._unsent: list[bytes] = []  # frames published but not yet handed to the connection
        self._unsent_bytes = 0
        self._methods: dict[tuple[str, str, bool], bytes] = {}  # basic.publish frames by destination
        opened: list = []
        # The BlockingConnection's asynchronous core (pika has no public batch-confirm API on
        # the blocking adapter); its events are dispatched by process_data_events below.
        connection._impl.channel(on_open_callback=opened.append)
        self._wait_for(lambda: bool(opened), "channel open")
        self.channel = opened[0]
        # BlockingConnection.close() closes each channel through its cookie (normally the
        # BlockingChannel wrapper): this publisher stands in for it.
        self.channel._set_cookie(self)
        self.channel.add_on_close_callback(self._on_close)
        self.channel.add_on_return_callback(self._on_return)
        self.channel.confirm_delivery(self._on_confirm)

    def publish(self, exchange: str, routing_key: str, body: bytes,
                properties: pika.BasicProperties, mandatory: bool = True) -> None:
        """Queue one message: sent with the others at the next `wait()`. Raises (nothing queued)
        if its properties do not encode."""
        self._check_open()
        if isinstance(body, str):  # as pika's basic_publish takes it
            body = body.encode()
        destination = (exchange, routing_key, mandatory)
        method = self._methods.get(destination)
        if method is None:
            method = self._methods[destination] = frame.Method(self.channel.channel_number, spec.Basic.Publish(
                exchange=exchange, routing_key=routing_key, mandatory=mandatory)).marshal()
        frames = message_frames(self.channel.channel_number, method, body, properties,
                                self.connection._impl._body_max_length)
        self._unsent += frames
        self._unsent_bytes += sum(len(f) for f in frames)
        self._tag += 1
        self._pending.add(self._tag)
        if self._unsent_bytes >= WRITE_CHUNK_BYTES:
            self._write()

    def wait(self) -> None:
        """Until every message published so far is confirmed; PublishFailed otherwise."""
        self._write()
        self._wait_for(lambda: not self._pending, "publisher confirms")
        if self._failed:
            failed, self._failed = self._failed, []
            raise PublishFailed(f"{len(failed)} message(s) not accepted by the broker: "
                                f"{'; '.join(failed[:3])}")

    @property
    def is_open(self) -> bool:
        return self.channel.is_open

    def close(self, reply_code: int = 200, reply_text: str = "Normal shutdown") -> None:
        if self.channel.is_open:
            self.channel.close(reply_code, reply_text)

    def _write(self) -> None:
        """Hand the frames queued so far to the connection, in one piece (it sends them as the
        socket takes them, while `wait` drives its event loop)."""
        if not self._unsent:
            return
        self._check_open()
        data, self._unsent, self._unsent_bytes = b"".join(self._unsent), [], 0
        connection = self.connection._impl  # pika's own statistics, as basic_publish keeps them
        connection.bytes_sent += len(data)
        connection._adapter_emit_data(data)

    def _check_open(self) -> None:
        if self._closed is not None or not self.channel.is_open:
            raise PublishFailed(f"publishing channel closed: {self._closed or 'not open'}")

    def _wait_for(self, done, what: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not done():
            if self._closed is not None:
                raise PublishFailed(f"publishing channel closed: {self._closed}")
            if time.monotonic() > deadline:
                raise PublishFailed(f"no {what} within {self.timeout_s:.0f} s")
            self.connection.process_data_events(time_limit=0.001)

    def _on_close(self, _channel, reason: Exception) -> None:
        self._closed = str(reason) or type(reason).__name__

    def _on_return(self, _channel, method, properties, _body) -> None:
        self._failed.append(f"returned {method.reply_text} ({properties.message_id})")

    def _on_confirm(self, frame) -> None:
        method = frame.method
        done = ({t for t in self._pending if t <= method.delivery_tag} if method.multiple
                else {method.delivery_tag})
        self._pending -= done
        if isinstance(method, pika.spec.Basic.Nack):
            self._failed.append(f"{len(done)} nacked")


def message_frames(channel_number: int, method: bytes, body: bytes,
                   properties: pika.BasicProperties, body_max: int) -> list[bytes]:
    """One message's frames after its marshaled basic.publish `method`, as pika's
    `Channel.basic_publish` writes them: the content header (the properties), then the body in
    frames of at most `body_max` bytes (none for an empty body)."""
    frames = [method, frame.Header(channel_number, len(body), properties).marshal()]
    for start in range(0, len(body), body_max):
        chunk = body if len(body) <= body_max else body[start:start + body_max]
        frames += (struct.pack(">BHI", spec.FRAME_BODY, channel_number, len(chunk)), chunk, _FRAME_END)
    return frames
