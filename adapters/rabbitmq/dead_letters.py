"""Dead letters for operations staff: list, show, re-drive.

A dead letter's id is the first 12 hex digits of the SHA-256 of its message (its body, decoded
when it came compressed): the same digest the inbox knows the message by. Re-driving publishes
the original bytes, with their original properties, back to the inbound queue, so the message
keeps its identity and can never apply twice.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel

from adapters.rabbitmq.properties import ORIGINAL_EXPIRATION, forwarded, header_text
from adapters.rabbitmq.topology import IN_ROUTING_KEY, Names
from adapters.rabbitmq.worker import ATTEMPTS_HEADER, REASON_HEADER
from bridge.content_encoding import UndecodableBody, decode_content
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class DeadLetter:
    id: str
    reason: str
    headers: dict
    body: bytes
    properties: pika.BasicProperties
    delivery_tag: int


def _browse(channel: BlockingChannel, names: Names) -> list[DeadLetter]:
    """Take every dead letter without acking (they return to the queue when released)."""
    letters = []
    while True:
        method, properties, body = channel.basic_get(names.dead, auto_ack=False)
        if method is None:
            return letters
        headers = {header_text(k): v for k, v in (properties.headers or {}).items()}
        message = decode_content(body, properties.content_encoding, DEFAULT_MAX_BYTES)
        digest = hashlib.sha256(body if isinstance(message, UndecodableBody) else message)
        letters.append(DeadLetter(digest.hexdigest()[:12],
                                  str(headers.get(REASON_HEADER, "dead-lettered by the broker")),
                                  headers, body, properties, method.delivery_tag))


def _release(channel: BlockingChannel, letters: list[DeadLetter]) -> None:
    for letter in letters:
        channel.basic_nack(letter.delivery_tag, requeue=True)


def list_dead(channel: BlockingChannel, names: Names) -> list[DeadLetter]:
    letters = _browse(channel, names)
    _release(channel, letters)
    return letters


def find_dead(channel: BlockingChannel, names: Names, letter_id: str) -> DeadLetter | None:
    """The dead letter whose id starts with `letter_id` (the first one), or None."""
    return next((letter for letter in list_dead(channel, names) if letter.id.startswith(letter_id)),
                None)


def with_ids(letter_ids: Iterable[str]) -> Callable[[DeadLetter], bool]:
    """Selects the dead letters whose id starts with one of `letter_ids` (none when empty)."""
    wanted = tuple(i for i in letter_ids if i)
    return lambda letter: any(letter.id.startswith(i) for i in wanted)


def redrive(channel: BlockingChannel, names: Names, select: Callable[[DeadLetter], bool]) -> list[str]:
    """Re-publish the selected dead letters to the inbound queue (confirmed), then remove them
    from the dead-letter queue. Returns the ids re-driven."""
    letters = _browse(channel, names)
    done = []
    try:
        for letter in letters:
            if not select(letter):
                continue
            headers = {k: v for k, v in letter.headers.items()
                       if k not in (REASON_HEADER, ATTEMPTS_HEADER, ORIGINAL_EXPIRATION)
                       and not k.startswith("x-death")}
            headers["x-tokenbridge-redriven"] = True
            # Every original property back (content_encoding above all); no expiration:
            # an operator re-drives a message to have it handled.
            channel.basic_publish(names.inbound, IN_ROUTING_KEY, letter.body,
                                  forwarded(letter.properties, headers, dead=True), mandatory=True)
            channel.basic_ack(letter.delivery_tag)
            done.append(letter.id)
    finally:
        _release(channel, [letter for letter in letters if letter.id not in done])
    return done
