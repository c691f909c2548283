"""Writing the admi.002.001.01 message reject: the answer to input that cannot be read as an ISO
20022 message the bridge acts on (not XML, no Document, a type or version it does not act on),
where no pacs.002 or report can answer. One version exists. With a header (the input had a
readable AppHdr), the Envelope holds the AppHdr related to the input's and then the Document, as
a pacs.002 reply does; else a bare Document (as the FedNow and RTP samples in the corpus are)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from bridge.iso.apphdr import iso_utc_datetime, write_reply_header
from bridge.iso.building import new_document
from bridge.iso.pacs002 import ENVELOPE_NAMESPACE
from bridge.status import ReplyHeader

MESSAGE_TYPE = "admi.002.001.01"
"""The only admi.002 version published; also the routing key on tokenbridge.out."""
NOT_AVAILABLE = "NOTAVAILABLE"
"""`RltdRef/Ref` when the input shows no id fit to quote (as FedNow writes it)."""

_MAX35 = 35
_MAX350 = 350
_MAX20000 = 20000
# Characters XML 1.0 cannot hold (a finding may quote the input's bytes).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class MessageReject:
    """What an admi.002 says: which message (its id as the sender knows it), why, where."""

    related_reference: str | None  # the input's BizMsgIdr or MsgId; None: NOTAVAILABLE
    reason: str  # RjctgPtyRsn: a short code (the ISO reason, FF01, AG03, ...)
    rejected_at: datetime
    description: str | None = None  # RsnDesc: the finding, for people
    location: str | None = None  # ErrLctn: line and column, path, or the part of the input
    additional_data: str | None = None  # AddtlData: the rule id and the input's digest


def write_message_reject(reject: MessageReject, header: ReplyHeader | None = None,
                         header_version: str = "head.001.001.02") -> bytes:
    """The admi.002.001.01 Document, valid against its official XSD whatever the input held:
    every text is cleaned of what XML cannot hold and cut to its schema length. With `header`,
    in an Envelope after that AppHdr (ValueError when the AppHdr cannot be written)."""
    document, add = new_document(MESSAGE_TYPE)
    body = add(document, MESSAGE_TYPE)
    add(add(body, "RltdRef"), "Ref", _text(reject.related_reference, _MAX35, whole=True) or NOT_AVAILABLE)
    reason = add(body, "Rsn")
    add(reason, "RjctgPtyRsn", _text(reject.reason, _MAX35) or NOT_AVAILABLE)
    add(reason, "RjctnDtTm", iso_utc_datetime(reject.rejected_at))
    for name, value, size in (("ErrLctn", reject.location, _MAX350),
                              ("RsnDesc", reject.description, _MAX350),
                              ("AddtlData", reject.additional_data, _MAX20000)):
        text = _text(value, size)
        if text:
            add(reason, name, text)
    if header is None:
        return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    envelope = etree.Element(f"{{{ENVELOPE_NAMESPACE}}}Envelope", nsmap={None: ENVELOPE_NAMESPACE})
    envelope.append(write_reply_header(header, header_version))
    envelope.append(document)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _text(value: str | None, size: int, *, whole: bool = False) -> str | None:
    """`value` fit for a MaxNText of `size`: None when empty, or (`whole`: an id, which a cut
    would falsify) when too long; else cut to `size`, the cut marked with an ellipsis."""
    if value is None:
        return None
    text = _NOT_XML.sub("?", value).strip()
    if not text or (whole and len(text) > size):
        return None
    return text if len(text) <= size else text[:size - 1] + "\u2026"
