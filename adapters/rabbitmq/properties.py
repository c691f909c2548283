"""A delivery's AMQP properties: read without ever failing, and carried over intact when the
worker re-publishes the message (a retry, a dead letter, a re-drive).

pika decodes a delivery's header table as the frame arrives; a value it cannot turn into Python
(a timestamp past year 9999, a NaN or infinite float: all valid AMQP) raises out of the
connection's event loop, which would take the worker down and, redelivered, every worker after
it. Installed once (`install_tolerant_decoding`), such a table is kept as its raw bytes under
`UNREADABLE_HEADERS` and the message treated as having no headers.
"""
from __future__ import annotations

import struct

import pika
import structlog
from pika import data, spec

log = structlog.get_logger("tokenbridge.amqp")

PERSISTENT = pika.DeliveryMode.Persistent
UNREADABLE_HEADERS = "x-tokenbridge-unreadable-headers"
"""The raw bytes of a header table pika could not decode (with the reason next to it)."""
UNREADABLE_REASON = "x-tokenbridge-unreadable-headers-reason"
ORIGINAL_USER_ID = "x-tokenbridge-original-user-id"
"""The broker refuses a publish whose user_id is not the publishing connection's user, so the
original user_id travels as a header instead."""
ORIGINAL_EXPIRATION = "x-tokenbridge-original-expiration"
"""A dead letter must not expire from the dead-letter queue: its TTL travels as a header (as
RabbitMQ's own dead-lettering does in x-death)."""


class TolerantProperties(spec.BasicProperties):
    """BasicProperties whose decoding never raises for a header table's contents."""

    def decode(self, encoded: bytes, offset: int = 0) -> "TolerantProperties":
        try:
            return super().decode(encoded, offset)
        except Exception as error:  # noqa: BLE001 - any value pika cannot represent
            salvaged = _headers_replaced(encoded, offset, error)
            if salvaged is None:
                raise
            log.warning("unreadable AMQP headers kept as bytes", error=type(error).__name__,
                        detail=str(error)[:200])
            return super().decode(salvaged, 0)


def install_tolerant_decoding() -> None:
    """Make pika decode every delivery's properties with TolerantProperties (idempotent)."""
    spec.props[spec.BasicProperties.INDEX] = TolerantProperties


def _headers_replaced(encoded: bytes, offset: int, error: Exception) -> bytes | None:
    """The encoded properties with the header table replaced by one holding its raw bytes; None
    when there is no header table (the failure was elsewhere: let it raise)."""
    try:
        flags, position = struct.unpack_from(">H", encoded, offset)[0], offset + 2
        if flags & 1 or not flags & spec.BasicProperties.FLAG_HEADERS:
            return None  # a second flag word: not a BasicProperties we know
        for flag in (spec.BasicProperties.FLAG_CONTENT_TYPE, spec.BasicProperties.FLAG_CONTENT_ENCODING):
            if flags & flag:
                position += 1 + encoded[position]  # a short string: length octet, bytes
        size = struct.unpack_from(">I", encoded, position)[0]
        raw = bytes(encoded[position + 4:position + 4 + size])
        replacement: list[bytes] = []
        data.encode_table(replacement, {UNREADABLE_HEADERS: raw,
                                        UNREADABLE_REASON: f"{type(error).__name__}: {error}"[:200]})
        return bytes(encoded[offset:position]) + b"".join(replacement) + bytes(encoded[position + 4 + size:])
    except (struct.error, IndexError):
        return None


def forwarded(properties: pika.BasicProperties, headers: dict, *, dead: bool) -> pika.BasicProperties:
    """The properties for re-publishing a delivery (a retry, or with `dead` a dead letter):
    every original property kept, persistent. The user_id becomes a header (the broker checks
    it against the publisher); a dead letter's expiration too (it must not expire there)."""
    headers = dict(headers)
    if properties.user_id is not None:
        headers[ORIGINAL_USER_ID] = properties.user_id
    expiration = properties.expiration
    if dead and expiration is not None:
        headers[ORIGINAL_EXPIRATION] = expiration
        expiration = None
    return pika.BasicProperties(
        content_type=properties.content_type, content_encoding=properties.content_encoding,
        headers=headers, delivery_mode=PERSISTENT, priority=properties.priority,
        correlation_id=properties.correlation_id, reply_to=properties.reply_to,
        expiration=expiration, message_id=properties.message_id, timestamp=properties.timestamp,
        type=properties.type, app_id=properties.app_id, cluster_id=properties.cluster_id)


def header_text(key: object) -> str:
    """A header name as text: pika leaves a name that is not UTF-8 as bytes."""
    return key if isinstance(key, str) else bytes(key).decode("utf-8", errors="replace")
