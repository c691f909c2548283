"""The admi.002 message reject that answers a refused message (bridge.outcomes.refused): input
not readable as ISO 20022, of a type or version the bridge does not act on, or that no
pacs.002 or report can answer. The sender learns of it without reading our dead-letter queue
(the worker still dead-letters the input)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bridge.inbound import Inbound
from bridge.iso.apphdr import reply_header
from bridge.iso.admi002 import MESSAGE_TYPE, MessageReject, write_message_reject
from bridge.messages import OutboundMessage, new_message_id
from bridge.outcomes import MessageOutcome, Refusal

DIGEST_CORRELATION = 32
"""Hex digits of the input's sha256 that correlate a reject of input showing no id."""


def message_reject(message: Inbound, outcome: MessageOutcome, refusal: Refusal,
                   now: datetime, issuer_bic: str | None = None) -> OutboundMessage:
    """The admi.002 answering `message`, refused for `refusal`. It quotes the input's BizMsgIdr
    or MsgId as the sender wrote it (`RltdRef/Ref`, and the correlation id); of input showing
    neither, the correlation id is the first 32 hex digits of the input's sha256 digest (the
    outbox keeps 35 characters): the bus has only the bytes (the transport's own message id
    never reaches the core), and the digest keys our inbox."""
    read = message.read
    reference = ((read.header.business_message_id if read.header else None)
                 or outcome.message_id or read.message_id)
    details = [f"rule {refusal.rule}"] if refusal.rule else []
    details.append(f"input sha256 {message.digest}")
    reject = MessageReject(
        related_reference=reference, reason=refusal.code, rejected_at=now,
        description=refusal.text, location=refusal.location, additional_data="; ".join(details))
    return OutboundMessage(new_message_id(), (reference or message.digest[:DIGEST_CORRELATION])[:35],
                           MESSAGE_TYPE, _body(message, reject, issuer_bic, now))


def _body(message: Inbound, reject: MessageReject, issuer_bic: str | None, now: datetime) -> bytes:
    """With an AppHdr related to the input's where the input had a readable one (in its head.001
    version), as a pacs.002 reply; a bare Document when none, or when the input's header
    cannot be answered valid (its parties unwritable: it may be why it is refused)."""
    original = message.read.header
    header = (reply_header(original, issuer_bic, MESSAGE_TYPE, new_message_id(), now)
              if original is not None else None)
    if header is not None:
        related_type = header.related_message_definition_id or message.read.message_type
        header = replace(header, related_message_definition_id=related_type,
                         related_business_message_id=(header.related_business_message_id
                                                      if related_type else None))
        try:
            return write_message_reject(reject, header, original.version)
        except ValueError:
            pass  # a bare Document still tells the sender
    return write_message_reject(reject)
