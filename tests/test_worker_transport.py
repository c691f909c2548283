"""What the transport carries around a message never takes a worker down and never loses one:
malformed headers and properties, compressed bodies, any routing key on the inbound exchange,
dead letters that keep every property, an old (direct) inbound exchange migrated in place.
Against the real RabbitMQ; the pure parts (header parsing, property forwarding) as unit tests."""
from __future__ import annotations

import gzip
import struct
import time
import zlib

import pika
import pytest
from pika import spec

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.dead_letters import list_dead, redrive
from adapters.rabbitmq.properties import (ORIGINAL_EXPIRATION, ORIGINAL_USER_ID, UNREADABLE_HEADERS,
                                          TolerantProperties, forwarded)
from adapters.rabbitmq.topology import IN_ROUTING_KEY, MigrationPending, Names, declare
from adapters.rabbitmq.worker import ATTEMPTS_HEADER, REASON_HEADER
from bridge.delivery import RetryPolicy, attempts_so_far
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from broker import AMQP_URL, channel, drain, drain_answers, drain_routed_answers, queue_depth
from builders import Tx, pacs008
from test_worker import ALICE, FATIMA, RunningWorker, supply

pytestmark = pytest.mark.slow  # the real broker

RETRY = RetryPolicy(delays_s=(0.1,), max_attempts=2)


@pytest.fixture()
def bridge_store(sqlite_url: str):
    """A migrated SQLite store with the sample registry (the transport does not care which)."""
    from conftest import seeded_store
    store = seeded_store(sqlite_url)
    yield store
    store.engine.dispose()


def mint(amount: str = "1.00") -> bytes:
    return pacs008([Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()


def send(prefix: str, items: list[tuple[bytes, pika.BasicProperties]], routing_key: str = IN_ROUTING_KEY,
         declaring: bool = True) -> None:
    """Publish to the inbound exchange, confirmed and mandatory: an unroutable message raises."""
    connection = connect(AMQP_URL, attempts=3)
    ch = confirmed_channel(connection)
    if declaring:
        declare(ch, Names(prefix), RETRY.delays_s)
    for body, properties in items:
        ch.basic_publish(f"{prefix}.in", routing_key, body, properties, mandatory=True)
    connection.close()


class RawProperties(pika.BasicProperties):
    """Properties sent as the exact bytes given: what another client (or an attacker) may send."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw

    def encode(self) -> list[bytes]:
        return [self.raw]


def raw_headers(table: bytes, message_id: bytes = b"raw-1") -> bytes:
    flags = spec.BasicProperties.FLAG_HEADERS | spec.BasicProperties.FLAG_MESSAGE_ID
    return (struct.pack(">HI", flags, len(table)) + table
            + struct.pack("B", len(message_id)) + message_id)


# A timestamp no platform can hold: valid AMQP, the broker passes it on; pika cannot decode it.
FAR_FUTURE = b"\x06x-when" + b"T" + struct.pack(">Q", 2 ** 63)


class FlakyBus(MessageBus):
    """The real pipeline, except that bodies starting FLAKY fail as if the store were away, and
    bodies starting ODD come back as something no worker expects."""

    def handle_batch(self, raws):
        results = iter(super().handle_batch([r for r in raws if not r.startswith((b"FLAKY", b"ODD"))]))
        return [ConnectionResetError("store away") if r.startswith(b"FLAKY")
                else object() if r.startswith(b"ODD") else next(results) for r in raws]


class EncodingPublisher:
    """Encodes what it is given, as pika does before sending anything."""

    def __init__(self) -> None:
        self.sent: list[pika.BasicProperties] = []

    def publish(self, exchange, routing_key, body, properties, mandatory=True) -> None:
        b"".join(properties.encode())
        self.sent.append(properties)


def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# -- unit: header values, tolerant decoding, forwarded properties ---------------------------

@pytest.mark.parametrize("value, attempts", [
    (None, 0), (3, 3), (0, 0), ("4", 4), (b"5", 5), (" 6 ", 6), ("abc", 0), ("1.5", 0), ("", 0),
    (-3, 0), (True, 0), (1.5, 0), ({"n": 1}, 0), ([1], 0), ("٣", 0), ("9" * 40, 999_999_999_999),
])
def test_an_attempt_counter_that_is_not_a_count_counts_as_absent(value, attempts) -> None:
    assert attempts_so_far(value) == attempts


def test_an_undecodable_header_table_is_kept_as_bytes_not_raised() -> None:
    raw = raw_headers(FAR_FUTURE)
    with pytest.raises(OverflowError):
        spec.BasicProperties().decode(raw)
    properties = TolerantProperties().decode(raw)
    assert properties.message_id == "raw-1"
    assert properties.headers[UNREADABLE_HEADERS] == FAR_FUTURE
    assert ATTEMPTS_HEADER not in properties.headers


def test_forwarded_properties_keep_everything_the_broker_allows() -> None:
    original = pika.BasicProperties(
        content_type="application/xml", content_encoding="gzip", headers={"h": 1}, delivery_mode=1,
        priority=3, correlation_id="c-1", reply_to="replies", expiration="60000", message_id="m-1",
        timestamp=1_700_000_000, type="pacs.008.001.08", user_id="bank", app_id="middleware",
        cluster_id="c")
    dead = forwarded(original, {"h": 1, REASON_HEADER: "why"}, dead=True)
    retry = forwarded(original, {"h": 1}, dead=False)
    for kept in ("content_type", "content_encoding", "priority", "correlation_id", "reply_to",
                 "message_id", "timestamp", "type", "app_id", "cluster_id"):
        assert getattr(dead, kept) == getattr(retry, kept) == getattr(original, kept), kept
    assert dead.delivery_mode == retry.delivery_mode == 2
    assert dead.user_id is None and dead.headers[ORIGINAL_USER_ID] == "bank"
    assert dead.expiration is None and dead.headers[ORIGINAL_EXPIRATION] == "60000"
    assert dead.headers[REASON_HEADER] == "why" and retry.expiration == "60000"


def test_a_header_that_does_not_encode_again_is_kept_as_text() -> None:
    """A double 1e300 in a header (valid AMQP; the broker passes it) is decoded by pika as an
    int, which pika cannot encode back (64 bits at most)."""
    from adapters.rabbitmq.worker import Worker
    table = b"\x03big" + b"d" + struct.pack(">d", 1e300) + b"\x02ok" + b"S" + struct.pack(">I", 3) + b"yes"
    original = TolerantProperties().decode(raw_headers(table))
    assert original.headers["big"] == int(1e300)
    with pytest.raises(struct.error):
        original.encode()
    publisher = EncodingPublisher()
    Worker._publish_keeping(publisher, "dead", "", b"body", forwarded(original, original.headers, dead=True))
    [sent] = publisher.sent
    assert sent.headers == {"big": str(int(1e300)), "ok": "yes"} and sent.message_id == "raw-1"


# -- the real broker ------------------------------------------------------------------------

def test_malformed_attempt_counters_never_stop_a_worker_and_retries_come_back(bridge_store, amqp_prefix) -> None:
    """Each FLAKY message fails transiently: its counter, whatever it holds, counts as absent,
    so it goes once round the retry queue (TTL, dead-lettered back to the inbound exchange) and
    is dead-lettered after 2 attempts. The valid message beside it is answered; the worker lives."""
    bad = ["abc", "1.5", -3, True, {"n": 1}, b"\xff\xfe"]
    flaky = [(f"FLAKY {i}".encode(), pika.BasicProperties(message_id=f"flaky-{i}", headers={ATTEMPTS_HEADER: v}))
             for i, v in enumerate(bad)]
    pipeline = FlakyBus(MessageReader(), bridge_store, is_transient=lambda e: isinstance(e, ConnectionResetError))
    with RunningWorker(bridge_store, amqp_prefix, pipeline=pipeline, retry=RETRY) as running:
        send(amqp_prefix, flaky + [(mint("2.00"), pika.BasicProperties(message_id="valid"))])
        dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= len(bad))
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)) == 1
        send(amqp_prefix, [(mint("3.00"), pika.BasicProperties())], declaring=False)
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)) == 1
        assert running.thread.is_alive()
    assert sorted(p.message_id for p, _ in dead) == sorted(f"flaky-{i}" for i in range(len(bad)))
    assert all("after 2 attempt(s)" in p.headers[REASON_HEADER] for p, _ in dead)
    assert supply(bridge_store) == {"EUR": 500}


def test_a_result_the_worker_cannot_sort_is_that_messages_dead_letter_only(bridge_store, amqp_prefix) -> None:
    pipeline = FlakyBus(MessageReader(), bridge_store)
    with RunningWorker(bridge_store, amqp_prefix, pipeline=pipeline) as running:
        send(amqp_prefix, [(b"ODD 1", pika.BasicProperties(message_id="odd")),
                           (mint("2.50"), pika.BasicProperties(message_id="valid"))])
        dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 1)
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)) == 1
        assert running.thread.is_alive()
    assert dead[0][0].message_id == "odd" and dead[0][0].headers[REASON_HEADER].startswith("internal: ")
    assert supply(bridge_store) == {"EUR": 250}


def test_an_undecodable_header_table_does_not_stop_the_worker(bridge_store, amqp_prefix) -> None:
    """pika cannot decode a timestamp past year 9999: without care every worker that takes the
    message loses its connection, again and again. The message is handled as having no headers;
    its dead letter keeps the raw table."""
    raw = RawProperties(raw_headers(FAR_FUTURE))
    with RunningWorker(bridge_store, amqp_prefix) as running:
        send(amqp_prefix, [(mint("4.00"), raw), (b"<invoice/>", raw), (mint("5.00"), pika.BasicProperties())])
        routed = drain_routed_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 3)
        dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 1)
        assert running.thread.is_alive()
    # issue 15: <invoice/> is answered with an admi.002 besides its dead letter (was: 2 replies)
    assert sorted(key[:8] for key, _, _ in routed) == ["admi.002", "pacs.002", "pacs.002"]
    assert supply(bridge_store) == {"EUR": 900}
    assert dead[0][1] == b"<invoice/>" and dead[0][0].message_id == "raw-1"
    assert FAR_FUTURE in dead[0][0].headers[UNREADABLE_HEADERS]


@pytest.mark.parametrize("routing_key", ["", "inbound", "pacs.008", "random"])
def test_every_routing_key_reaches_the_inbound_queue(bridge_store, amqp_prefix, routing_key: str) -> None:
    with RunningWorker(bridge_store, amqp_prefix):
        send(amqp_prefix, [(mint("1.25"), pika.BasicProperties())], routing_key=routing_key)
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=20)) == 1
    assert supply(bridge_store) == {"EUR": 125}


def test_compressed_bodies_are_read_and_bad_encodings_dead_lettered_with_every_property(
        bridge_store, amqp_prefix) -> None:
    message = mint("6.00")
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = bomb.compress(bytes(4 * 1024 * 1024)) + bomb.flush()
    everything = dict(content_type="application/xml", app_id="middleware", timestamp=1_700_000_000,
                      correlation_id="corr", type="pacs.008.001.08", priority=4, reply_to="r",
                      expiration="3600000", user_id="guest", headers={"x-bank": "kept"}, delivery_mode=1)

    def props(encoding: str | None, message_id: str) -> pika.BasicProperties:
        return pika.BasicProperties(content_encoding=encoding, message_id=message_id, **everything)
    items = [(gzip.compress(message), props("gzip", "gz")),
             (message, props(None, "plain")),  # the same message uncompressed: the inbox knows it
             (zlib.compress(mint("7.00")), props("deflate", "df")),
             (gzip.compress(b"<invoice/>"), props("gzip", "gz-poison")),
             (bomb, props("gzip", "bomb")),
             (gzip.compress(mint("8.00")), props("br", "brotli"))]
    with RunningWorker(bridge_store, amqp_prefix, max_message_bytes=1024 * 1024):
        send(amqp_prefix, items)
        routed = drain_routed_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 4)
        dead = {p.message_id: (p, body) for p, body in drain(f"{amqp_prefix}.dead", lambda got: len(got) >= 3)}
    # issue 15: the inflated poison (<invoice/>) is answered with an admi.002 too (was: 3 replies)
    replies = [(p, body) for key, p, body in routed if key.startswith("pacs.002")]
    assert [key for key, _, _ in routed].count("admi.002.001.01") == 1 and len(routed) == 4
    assert len(replies) == 3 and len({p.message_id for p, _ in replies}) == 2  # gz and plain: one reply
    assert supply(bridge_store) == {"EUR": 1300}
    assert set(dead) == {"gz-poison", "bomb", "brotli"}
    assert dead["gz-poison"][0].headers[REASON_HEADER].startswith("refused")
    assert dead["bomb"][0].headers[REASON_HEADER] == (
        "content-encoding: gzip body decompresses to more than 1048576 bytes (the message size limit)")
    assert dead["brotli"][0].headers[REASON_HEADER].startswith("content-encoding: unsupported content_encoding 'br'")
    for message_id, (properties, body) in dead.items():
        assert body == dict((p.message_id, b) for b, p in items)[message_id]  # the bytes as sent
        for name in ("content_type", "app_id", "timestamp", "correlation_id", "type", "priority", "reply_to"):
            assert getattr(properties, name) == everything[name], (message_id, name)
        assert properties.content_encoding == {"gz-poison": "gzip", "bomb": "gzip", "brotli": "br"}[message_id]
        assert properties.headers["x-bank"] == "kept" and properties.delivery_mode == 2
        assert properties.headers[ORIGINAL_USER_ID] == "guest" and properties.user_id is None
        assert properties.headers[ORIGINAL_EXPIRATION] == "3600000" and properties.expiration is None


def test_a_compressed_dead_letter_has_the_inbox_id_and_is_redriven_as_it_came(amqp_prefix) -> None:
    import hashlib
    body = gzip.compress(b"<invoice/>")
    connection = connect(AMQP_URL, attempts=3)
    ch = confirmed_channel(connection)
    declare(ch, Names(amqp_prefix), RETRY.delays_s)
    ch.basic_publish(f"{amqp_prefix}.dead", "", body, pika.BasicProperties(
        content_encoding="gzip", app_id="middleware", timestamp=1_700_000_000, message_id="m",
        headers={REASON_HEADER: "refused", ORIGINAL_EXPIRATION: "5000"}))
    letters = list_dead(ch, Names(amqp_prefix))
    assert [letter.id for letter in letters] == [hashlib.sha256(b"<invoice/>").hexdigest()[:12]]
    assert redrive(ch, Names(amqp_prefix), lambda letter: True) == [letters[0].id]
    connection.close()
    [(properties, again)] = drain(f"{amqp_prefix}.in", lambda got: len(got) >= 1)
    assert again == body and properties.content_encoding == "gzip"
    assert (properties.app_id, properties.timestamp, properties.message_id) == ("middleware", 1_700_000_000, "m")
    assert REASON_HEADER not in properties.headers and ORIGINAL_EXPIRATION not in properties.headers


def legacy_topology(prefix: str) -> None:
    """What earlier releases declared: a direct inbound exchange bound with `inbound` only."""
    names = Names(prefix)
    connection, ch = channel()
    ch.exchange_declare(names.inbound, "direct", durable=True)
    ch.exchange_declare(names.dead, "fanout", durable=True)
    ch.queue_declare(names.inbound, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": 20, "x-dead-letter-exchange": names.dead})
    ch.queue_bind(names.inbound, names.inbound, IN_ROUTING_KEY)
    for delay in RETRY.delays_s:
        ch.queue_declare(names.classic_retry_queue(delay), durable=True, arguments={
            "x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": names.inbound,
            "x-dead-letter-routing-key": IN_ROUTING_KEY})
    connection.close()


def test_an_old_direct_inbound_exchange_is_migrated_keeping_queued_messages(bridge_store, amqp_prefix) -> None:
    legacy_topology(amqp_prefix)
    send(amqp_prefix, [(mint("1.00"), pika.BasicProperties()) for _ in range(5)], declaring=False)
    with pytest.raises(pika.exceptions.UnroutableError):  # the defect: any other key was dropped
        send(amqp_prefix, [(mint("1.00"), pika.BasicProperties())], routing_key="pacs.008", declaring=False)
    send(amqp_prefix, [])  # `tokenbridge topology` / a worker's start: migrates
    assert queue_depth(f"{amqp_prefix}.in") == 5
    send(amqp_prefix, [(mint("1.00"), pika.BasicProperties())], routing_key="pacs.008")
    send(amqp_prefix, [])  # idempotent once migrated
    assert queue_depth(f"{amqp_prefix}.in") == 6
    with RunningWorker(bridge_store, amqp_prefix, retry=RETRY):
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 6)) == 6
    assert supply(bridge_store) == {"EUR": 600}


def test_the_migration_waits_while_a_retry_queue_holds_messages(amqp_prefix) -> None:
    """A message expiring from a retry queue while the inbound exchange is being replaced would
    be dropped by the broker: the migration waits for the retry queues to be empty."""
    from click.testing import CliRunner

    from adapters.cli import cli
    legacy_topology(amqp_prefix)
    names = Names(amqp_prefix)
    connection, ch = channel()
    parked = names.classic_retry_queue(60.0)  # a long TTL: it stays while the test looks
    ch.queue_declare(parked, durable=True, arguments={
        "x-message-ttl": 60000, "x-dead-letter-exchange": names.inbound,
        "x-dead-letter-routing-key": IN_ROUTING_KEY})
    ch.basic_publish("", parked, b"waiting for a retry")
    connection.close()
    wait_for(lambda: queue_depth(parked) == 1)
    connection = connect(AMQP_URL, attempts=3)
    with pytest.raises(MigrationPending, match=f"{parked}: 1 message"):
        declare(confirmed_channel(connection), names, (0.1, 60.0))
    connection.close()
    result = CliRunner().invoke(cli, ["topology"], env={"TOKENBRIDGE_AMQP_PREFIX": amqp_prefix})
    assert result.exit_code == 1 and "retry queues are empty" in result.output
    with pytest.raises(pika.exceptions.UnroutableError):  # still the old exchange, untouched
        send(amqp_prefix, [(b"x", pika.BasicProperties())], routing_key="random", declaring=False)
    connection, ch = channel()
    ch.queue_purge(parked)
    ch.queue_delete(parked)
    connection.close()


def test_several_broker_urls_are_tried_in_turn(amqp_prefix) -> None:
    from adapters.rabbitmq.channel import node_of, redacted_url
    urls = f"amqp://guest:nope@127.0.0.1:1/%2F, {AMQP_URL}"
    connection = connect(urls, attempts=1)
    assert connection.is_open and node_of(connection) == "127.0.0.1:5672"
    connection.close()
    assert redacted_url(urls) == "amqp://guest:***@127.0.0.1:1/,amqp://guest:***@127.0.0.1:5672/"


def test_after_a_lost_node_its_successor_is_tried_first() -> None:
    from adapters.rabbitmq.channel import parameters
    urls = "amqp://u:p@a:1/%2F, amqp://u:p@b:2/%2F, amqp://u:p@c:3/%2F"
    hosts = lambda after: [p.host for p in parameters(urls, after)]  # noqa: E731
    assert hosts(None) == ["a", "b", "c"]
    assert hosts("b:2") == ["c", "a", "b"]
    assert hosts("c:3") == ["a", "b", "c"]
    assert hosts("elsewhere:9") == ["a", "b", "c"]  # not one of the URLs: the given order
