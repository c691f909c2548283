"""Messages the bridge records and sends: what came in (inbox) and what goes out (outbox)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

MESSAGE_ID_PREFIX = "TB"


def new_message_id() -> str:
    """A new, unique MsgId (and BizMsgIdr) for a message the bridge writes: `TB` and 30 hex
    digits, 32 characters, within Max35Text."""
    return f"{MESSAGE_ID_PREFIX}{_uuid4_int():032x}"[:32]


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # the version nibble, the variant's two bits
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def _uuid4_int() -> int:
    """`uuid.uuid4().int` without building a UUID: the same random bits, version and variant."""
    return int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR | _UUID4_SET


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply or report to publish: pacs.002, camt.053 or a reconciliation report."""

    message_id: str  # new and unique; consumers dedupe on it
    correlation_id: str | None  # the original's BizMsgIdr or MsgId
    message_type: str  # "pacs.002.001.10"; also the routing key on tokenbridge.out
    body: bytes
    content_type: str = "application/xml"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """An outbox message with when it was queued and whether the broker has confirmed it."""

    message: OutboundMessage
    created_at: datetime
    published: bool


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """What the inbox keeps of each received message, keyed by the hash of its bytes."""

    digest: str  # sha256 of the raw bytes
    received_at: datetime
    message_type: str | None
    message_id: str | None  # GrpHdr/MsgId
    business_message_id: str | None  # AppHdr/BizMsgIdr
    sender: str | None  # AppHdr Fr or instructing agent BIC
    verdict: str  # accepted, partial, rejected, refused
    summary: str  # a line for people: counts, first reasons
    raw: bytes
    reply_id: str | None = None
