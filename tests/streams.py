"""Streams of payments through `tokenbridge worker` processes, for the fault and failover
tests: the stream, the worker process, the answers collected, the ledger afterwards."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.topology import Names, declare
from adapters.rabbitmq.worker import publish_files
from broker import AMQP_URL, drain
from builders import Tx, pacs008

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"
WORKER = [sys.executable, "-c", "from adapters.cli import main; main()", "worker"]


def start_worker(url: str, prefix: str, log: Path, **settings: str) -> subprocess.Popen:
    """`tokenbridge worker` on the store at `url`; `settings` are more TOKENBRIDGE_* values
    (amqp_url="..." sets TOKENBRIDGE_AMQP_URL)."""
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": url, "TOKENBRIDGE_AMQP_PREFIX": prefix,
           "TOKENBRIDGE_BATCH_SIZE": "50",
           **{f"TOKENBRIDGE_{name.upper()}": value for name, value in settings.items()}}
    return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def stream(count: int, seed: int) -> tuple[list[bytes], int]:
    """`count` mints of random amounts to one wallet; and their sum in minor units."""
    rng = random.Random(seed)
    amounts = [Decimal(rng.randint(1, 99_999)) / 100 for _ in range(count)]
    bodies = [pacs008([Tx(amount=f"{a:.2f}", debtor_iban=FATIMA, creditor_iban=ALICE)],
                      msg_id=f"CRASH-{seed}-{i}").encode() for i, a in enumerate(amounts)]
    return bodies, int(sum(amounts) * 100)


def publish(prefix: str, bodies: list[bytes], *, declaring: bool = True, url: str = AMQP_URL) -> None:
    connection = connect(url, attempts=3)
    channel = confirmed_channel(connection)
    if declaring:
        declare(channel, Names(prefix), (1, 5, 15, 30, 60, 120))
    publish_files(channel, Names(prefix), [("stream", b) for b in bodies])
    connection.close()


def answers(prefix: str, expected: int, timeout_s: float, url: str = AMQP_URL) -> dict[str, set[str]]:
    """The replies read from `<prefix>.out` (camt.054 notifications left out) until `expected`
    messages are answered: each
    answered message's correlation id with the message ids of the replies it got (a reply
    published again, after a lost confirm, keeps its message id)."""
    seen: dict[str, set[str]] = {}
    counted = [0]

    def done(got: list) -> bool:
        for properties, _ in got[counted[0]:]:
            if (properties.type or "").startswith("camt.054"):  # a notification, not an answer
                continue
            seen.setdefault(properties.correlation_id, set()).add(properties.message_id)
        counted[0] = len(got)
        return len(seen) >= expected
    drain(f"{prefix}.out", done, timeout_s=timeout_s, url=url)
    return seen


def answered(prefix: str, expected: int, timeout_s: float, url: str = AMQP_URL) -> set[str]:
    """The correlation ids of the messages answered (see `answers`)."""
    return set(answers(prefix, expected, timeout_s, url))


def ledger_state(store) -> tuple[dict, int, int]:
    """The supply per currency, the wallet postings, and the distinct operation keys among them."""
    with store() as uow:
        postings = uow.ledger.journal()
        return uow.ledger.supply(), len(postings), len({p.operation_key for p in postings})


def stop_worker(worker: subprocess.Popen, log: Path) -> None:
    """SIGTERM, and the worker finishes its batch and exits 0."""
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, log.read_text()[-3000:]


def assert_exactly_once(replies: dict[str, set[str]], store, count: int, expected_units: int,
                        log: Path) -> None:
    """Every message of the stream answered, each by one reply (a reply published again keeps
    its message id, which a consumer dedupes on), and applied once: the supply exact, one wallet
    posting per operation key."""
    assert len(replies) == count, f"{count - len(replies)} unanswered; {log.read_text()[-3000:]}"
    assert all(len(ids) == 1 for ids in replies.values())
    supply, postings, keys = ledger_state(store)
    assert supply == {"EUR": expected_units}
    assert postings == keys == count
