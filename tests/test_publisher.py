"""The confirmed publisher writes a batch's frames together: they must be exactly the frames
pika's own basic_publish writes, and arrive intact, in order, whatever the body's size."""
from __future__ import annotations

import pika
import pytest
from pika import frame, spec

from adapters.rabbitmq.channel import connect
from adapters.rabbitmq.publisher import WRITE_CHUNK_BYTES, ConfirmedPublisher, message_frames
from adapters.rabbitmq.topology import Names, declare
from broker import AMQP_URL, drain_routed

BODY_MAX = 131072 - 8  # pika's body frame limit at the broker's default frame_max


def pika_frames(channel_number: int, exchange: str, routing_key: str, body: bytes,
                properties: pika.BasicProperties, mandatory: bool, body_max: int) -> bytes:
    """What pika's Connection._send_message writes for Channel.basic_publish."""
    parts = [frame.Method(channel_number, spec.Basic.Publish(exchange=exchange, routing_key=routing_key,
                                                             mandatory=mandatory)).marshal(),
             frame.Header(channel_number, len(body), properties).marshal()]
    for start in range(0, len(body), body_max):
        parts.append(frame.Body(channel_number, body[start:start + body_max]).marshal())
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, 3000, BODY_MAX - 1, BODY_MAX, BODY_MAX + 1, 3 * BODY_MAX + 17])
def test_a_message_s_frames_are_pika_s_own(size: int) -> None:
    body = bytes(i % 251 for i in range(size))
    properties = pika.BasicProperties(message_id="m-1", correlation_id="c-1", content_type="application/xml",
                                      type="pacs.002.001.10", delivery_mode=2, timestamp=1_700_000_000,
                                      headers={"x-tokenbridge-reason": "r", "n": 3})
    method = frame.Method(7, spec.Basic.Publish(exchange="tb.out", routing_key="pacs.002.001.10",
                                                mandatory=True)).marshal()
    ours = b"".join(message_frames(7, method, body, properties, BODY_MAX))
    assert ours == pika_frames(7, "tb.out", "pacs.002.001.10", body, properties, True, BODY_MAX)


def test_properties_that_do_not_encode_queue_nothing() -> None:
    with pytest.raises((pika.exceptions.ShortStringTooLong, ValueError, TypeError)):
        message_frames(1, b"m", b"<x/>", pika.BasicProperties(message_id="x" * 300), BODY_MAX)


@pytest.mark.slow  # the real broker
def test_what_is_published_arrives_intact_and_in_order(amqp_prefix) -> None:
    """Small and large bodies (over several frames, over several writes) with their properties."""
    names = Names(amqp_prefix)
    connection = connect(AMQP_URL, attempts=3)
    declare(connection.channel(), names, (1,))
    publisher = ConfirmedPublisher(connection)
    sizes = [0, 10, 3000, BODY_MAX + 5, 2 * WRITE_CHUNK_BYTES + 3, 500] * 3
    sent = []
    for i, size in enumerate(sizes):
        body = bytes((i + j) % 256 for j in range(size))
        key = "pacs.002.001.10" if i % 2 else "camt.054.001.08"
        publisher.publish(names.outbound, key, body, pika.BasicProperties(
            message_id=f"m{i}", correlation_id=f"c{i}", type=key, delivery_mode=2,
            headers={"n": i}))
        sent.append((key, f"m{i}", f"c{i}", i, body))
    publisher.wait()
    got = drain_routed(names.outbound, lambda got: len(got) >= len(sent), timeout_s=30)
    connection.close()
    assert [(key, p.message_id, p.correlation_id, p.headers["n"], body) for key, p, body in got] == sent
