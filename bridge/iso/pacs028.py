"""Reading a pacs.028 `FIToFIPmtStsReq` (versions .01 to .07) into a StatusRequestMessage.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs (only what is read here):
- `TxInf/OrgnlUETR` exists from .03 on (UUIDv4Identifier);
- agents are `FinInstnId/BICFI` in every version (BICFIIdentifier in .01 and .02,
  BICFIDec2014Identifier from .03), with `ClrSysMmbId/MmbId` as in the corpus (FedNow);
- the group header (GroupHeader53 in .01-.02, GroupHeader91 in .03-.05, GroupHeader109 from
  .06) has MsgId, CreDtTm, InstgAgt and InstdAgt in the same order in all;
- the top-level `OrgnlGrpInf` (0..n, OriginalGroupInformation27) and `TxInf/OrgnlGrpInf`
  (0..1: OriginalGroupInformation3 in .01, 29 from .02, 33 in .07) have OrgnlMsgId and
  OrgnlMsgNmId (mandatory) and OrgnlCreDtTm (optional) in every version;
- `TxInf` has StsReqId, OrgnlGrpInf, OrgnlInstrId, OrgnlEndToEndId, OrgnlTxId, then (from .03)
  OrgnlUETR, AccptncDtTm, ClrSysRef, InstgAgt, InstdAgt, OrgnlTxRef in every version.
"""
from __future__ import annotations

from lxml import etree

from bridge.iso import components
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, to_datetime
from bridge.status_requests.request import OriginalGroup, RequestedTransaction, StatusRequestMessage

MESSAGE_FAMILY = "pacs.028.001"
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(1, 8))
ROOT = "FIToFIPmtStsReq"


def read_status_request(document: etree._Element) -> StatusRequestMessage:
    """Map an XSD-valid pacs.028 Document to a StatusRequestMessage, one RequestedTransaction
    per `TxInf`, in document order.

    Raises MessageReadError when `document` is not a pacs.028.001.01-.07 Document.
    """
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS, ROOT)
    header = root.find("GrpHdr")
    message_id = header.text("MsgId") if header is not None else None
    if header is None or message_id is None:
        raise MessageReadError(f"{ROOT} has no GrpHdr/MsgId")
    created = header.text("CreDtTm")
    return StatusRequestMessage(
        message_type=message_type, message_id=message_id, created_at=to_datetime(created),
        created_at_text=created, instructing_agent=components.agent(header.find("InstgAgt")),
        original_groups=tuple(g for g in map(original_group, root.findall("OrgnlGrpInf")) if g),
        transactions=tuple(_transaction(index, tx) for index, tx in enumerate(root.findall("TxInf"))))


def original_group(node: Node | None) -> OriginalGroup | None:
    """An `OrgnlGrpInf` (pacs.028, camt.056: OrgnlMsgId, OrgnlMsgNmId, OrgnlCreDtTm), or None."""
    if node is None or node.text("OrgnlMsgId") is None:
        return None
    created = node.text("OrgnlCreDtTm")
    return OriginalGroup(node.text("OrgnlMsgId"), node.text("OrgnlMsgNmId") or "",
                         to_datetime(created), created)


def _transaction(index: int, tx: Node) -> RequestedTransaction:
    return RequestedTransaction(
        index=index, status_request_id=tx.text("StsReqId"),
        original_group=original_group(tx.find("OrgnlGrpInf")),
        instruction_id=tx.text("OrgnlInstrId"), end_to_end_id=tx.text("OrgnlEndToEndId"),
        transaction_id=tx.text("OrgnlTxId"), uetr=tx.text("OrgnlUETR"),
        instructing_agent=components.agent(tx.find("InstgAgt")))
