"""Writing the Business Application Header (head.001 `AppHdr`) of a reply, head.001.001.01 to .04.

Checked against the official XSDs: the four versions use the same element names and order for
what a reply needs (Fr, To, BizMsgIdr, MsgDefIdr, BizSvc, CreDt, ..., Rltd). They differ in:
- CreDt: .01 is `ISONormalisedDateTime` (pattern `.*Z`, UTC only); .02 to .04 any ISODateTime;
- BICFI: .01 is `BICFIIdentifier` (letters in the first six places), .02 on `BICFIDec2014Identifier`;
- Rltd: at most one in .01, any number from .02 on. In every version Rltd's Fr, To, BizMsgIdr,
  MsgDefIdr and CreDt are mandatory.
"""
from __future__ import annotations

from datetime import datetime, timezone

from lxml import etree

from bridge.iso.building import child
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.status import ReplyHeader

HEADER_VERSIONS = tuple(f"head.001.001.{n:02d}" for n in range(1, 5))
"""AppHdr versions the bridge writes."""


def iso_utc_datetime(moment: datetime) -> str:
    """An ISODateTime in UTC ending in 'Z' (`2026-11-24T10:00:00Z`, milliseconds when present).

    head.001.001.01 accepts nothing else, and every other AppHdr and pacs.002 version accepts
    it, so one form serves all. A naive datetime is taken to be UTC already.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def write_reply_header(header: ReplyHeader, version: str = "head.001.001.02") -> etree._Element:
    """The `AppHdr` of a reply: from the bridge's bank to the original sender, related (`Rltd`)
    to the original's header when its BizMsgIdr is known.

    Raises ValueError for an unknown version, a missing Fr/To BIC, or a Rltd whose original
    MsgDefIdr is unknown (write_reply fills that in from the status report).
    """
    if version not in HEADER_VERSIONS:
        raise ValueError(f"cannot write AppHdr {version!r}: supported are {', '.join(HEADER_VERSIONS)}")
    if not header.from_bic or not header.to_bic:
        raise ValueError("a reply AppHdr needs both the sender (Fr) and receiver (To) BIC; "
                         f"got from={header.from_bic!r} to={header.to_bic!r}")
    namespace = ISO_NAMESPACE_PREFIX + version
    root = etree.Element(f"{{{namespace}}}AppHdr", nsmap={None: namespace})
    _add_parties_and_ids(root, namespace, header.from_bic, header.to_bic,
                         header.business_message_id, header.message_definition_id)
    if header.business_service:
        child(root, namespace, "BizSvc", header.business_service)
    child(root, namespace, "CreDt", iso_utc_datetime(header.created_at))
    if header.related_business_message_id:
        if not header.related_message_definition_id:
            raise ValueError("Rltd needs the original's MsgDefIdr "
                             f"(original BizMsgIdr {header.related_business_message_id!r})")
        related = child(root, namespace, "Rltd")
        # Rltd/Fr and Rltd/To are mandatory; the original went from whom we answer to us.
        _add_parties_and_ids(related, namespace,
                             header.related_from_bic or header.to_bic,
                             header.related_to_bic or header.from_bic,
                             header.related_business_message_id,
                             header.related_message_definition_id)
        # Rltd/CreDt is mandatory too; without the original's, the reply's is the closest truth.
        child(related, namespace, "CreDt",
             iso_utc_datetime(header.related_created_at or header.created_at))
    return root


def _add_parties_and_ids(parent: etree._Element, namespace: str, from_bic: str, to_bic: str,
                         business_message_id: str, message_definition_id: str) -> None:
    for name, bic in (("Fr", from_bic), ("To", to_bic)):
        party = child(parent, namespace, name)
        institution = child(child(party, namespace, "FIId"), namespace, "FinInstnId")
        child(institution, namespace, "BICFI", bic)
    child(parent, namespace, "BizMsgIdr", business_message_id)
    child(parent, namespace, "MsgDefIdr", message_definition_id)

