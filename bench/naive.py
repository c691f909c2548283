"""The naive pipeline, for the ratio in the benchmark: what a first version would do. Prefetch
1; validation with xmlschema (pure Python); one commit per message; one confirmed publish per
reply; one ack per message. It runs the bridge's own pipeline for the rest (translation,
ledger, inbox and outbox), so the ratio shows what batching and lxml buy, not a different
feature set.

    TOKENBRIDGE_DATABASE_URL=... TOKENBRIDGE_AMQP_PREFIX=... python bench/naive.py   (until SIGTERM)
"""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xmlschema  # noqa: E402

from adapters.bootstrap import build_bus, open_store  # noqa: E402
from adapters.config import load_settings  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from adapters.rabbitmq.channel import confirmed_channel, connect, reply_properties  # noqa: E402
from adapters.rabbitmq.topology import Names  # noqa: E402
from bridge.iso.catalogue import SchemaCatalogue  # noqa: E402


def one_at_a_time(channel, queue: str, stop: threading.Event):
    """(method, body) of each delivery of `queue`, prefetch 1, until `stop` is set."""
    channel.basic_qos(prefetch_count=1)
    for method, _, body in channel.consume(queue, inactivity_timeout=0.2):
        if stop.is_set():
            return
        if method is not None:
            yield method, body


def main() -> None:
    configure_logging(None)
    settings = load_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = open_store(settings)
    pipeline = build_bus(settings, store)
    schema = xmlschema.XMLSchema(str(SchemaCatalogue().directory / "pacs.008.001.08.xsd"))
    names = Names(settings.amqp_prefix)
    connection = connect(settings.amqp_url)
    channel = confirmed_channel(connection)
    for method, body in one_at_a_time(channel, names.inbound, stop):
        schema.is_valid(body.decode())  # the naive validation step
        outcome = pipeline.handle(body)  # its own unit of work: one commit
        if outcome.reply is not None:  # one confirmed publish, waited for
            channel.basic_publish(names.outbound, outcome.reply.message_type, outcome.reply.body,
                                  reply_properties(outcome.reply), mandatory=True)
            with store() as uow:
                uow.outbox.mark_published([outcome.reply.message_id])
                uow.commit()
        channel.basic_ack(method.delivery_tag)  # one ack per message
    channel.cancel()
    connection.close()


if __name__ == "__main__":
    main()
