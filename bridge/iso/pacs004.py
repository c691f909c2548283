"""Reading a pacs.004 `PmtRtr` (versions .01 to .15) into a PaymentReturnMessage.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs (only what is read here):
- .01 (2006) names its root `pacs.004.001.01` and writes the reason as `RtrRsnInf/RtrRsn`
  (Cd from the closed TransactionRejectReason2Code, or Prtry) and `AddtlRtrRsnInf`; from .02
  the root is `PmtRtr` and the reason `RtrRsnInf/Rsn` (Cd an ExternalReturnReason1Code, 1-4
  characters, or Prtry) with `AddtlInf`;
- agents are `FinInstnId/BIC` in .01 and .02, `FinInstnId/BICFI` from .03;
- `TxInf/OrgnlUETR` exists from .09 on;
- GrpHdr (MsgId, CreDtTm, NbOfTxs, SttlmInf/SttlmMtd mandatory; InstgAgt, InstdAgt last),
  the top-level `OrgnlGrpInf` (0..1) and `TxInf/OrgnlGrpInf` (0..1) with OrgnlMsgId,
  OrgnlMsgNmId and OrgnlCreDtTm, and TxInf's RtrId, OrgnlInstrId, OrgnlEndToEndId, OrgnlTxId
  (all optional), OrgnlIntrBkSttlmAmt (optional) and RtrdIntrBkSttlmAmt (mandatory) have the
  same names in every version; .15 (2026) differs from .14 only in components not read here.
"""
from __future__ import annotations

from lxml import etree

from bridge.iso import components
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, to_date, to_datetime
from bridge.returns.return_message import (OriginalMessage, PaymentReturnMessage, ReturnedTransaction,
                                           ReturnReason)

MESSAGE_FAMILY = "pacs.004.001"
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(1, 16))
ROOT = "PmtRtr"
OLDEST_ROOT = "pacs.004.001.01"  # the 2006 root's name


def read_payment_return(document: etree._Element) -> PaymentReturnMessage:
    """Map an XSD-valid pacs.004 Document to a PaymentReturnMessage, one ReturnedTransaction per
    `TxInf`, in document order.

    Raises MessageReadError when `document` is not a pacs.004.001.01-.15 Document.
    """
    oldest = (etree.QName(document).namespace or "").endswith(OLDEST_ROOT)
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS,
                                                 OLDEST_ROOT if oldest else ROOT)
    header = root.find("GrpHdr")
    message_id = header.text("MsgId") if header is not None else None
    if header is None or message_id is None:
        raise MessageReadError(f"{ROOT} has no GrpHdr/MsgId")
    created = header.text("CreDtTm")
    group = _original(root.find("OrgnlGrpInf"))
    return PaymentReturnMessage(
        message_type=message_type, message_id=message_id, created_at=to_datetime(created),
        created_at_text=created, instructing_agent=components.agent(header.find("InstgAgt")),
        instructed_agent=components.agent(header.find("InstdAgt")), original_message=group,
        transactions=tuple(_transaction(index, tx, group, oldest)
                           for index, tx in enumerate(root.findall("TxInf"))),
        settlement_method=header.text("SttlmInf/SttlmMtd") or "INDA",
        number_of_transactions=int(count) if (count := header.text("NbOfTxs")) and count.isdigit() else -1)


def _original(node: Node | None) -> OriginalMessage | None:
    if node is None or node.text("OrgnlMsgId") is None:
        return None
    return OriginalMessage(node.text("OrgnlMsgId"), node.text("OrgnlMsgNmId") or "",
                           node.text("OrgnlCreDtTm"))


def _reason(node: Node | None, oldest: bool) -> ReturnReason:
    if node is None:
        return ReturnReason()
    choice = "RtrRsn" if oldest else "Rsn"
    return ReturnReason(node.text(f"{choice}/Cd"), node.text(f"{choice}/Prtry"),
                        node.text("AddtlRtrRsnInf" if oldest else "AddtlInf"))


def _transaction(index: int, tx: Node, group: OriginalMessage | None, oldest: bool) -> ReturnedTransaction:
    where = f"TxInf[{index}]"
    returned = components.amount(tx.find("RtrdIntrBkSttlmAmt"), f"{where}/RtrdIntrBkSttlmAmt")
    if returned is None:
        raise MessageReadError(f"{where} has no RtrdIntrBkSttlmAmt")
    return ReturnedTransaction(
        index=index, return_id=tx.text("RtrId"),
        original_message=_original(tx.find("OrgnlGrpInf")) or group,
        instruction_id=tx.text("OrgnlInstrId"), end_to_end_id=tx.text("OrgnlEndToEndId"),
        transaction_id=tx.text("OrgnlTxId"), uetr=tx.text("OrgnlUETR"), returned=returned,
        original_amount=components.amount(tx.find("OrgnlIntrBkSttlmAmt"), f"{where}/OrgnlIntrBkSttlmAmt"),
        settlement_date=to_date(tx.text("IntrBkSttlmDt")),
        reason=_reason(tx.find("RtrRsnInf"), oldest),
        instructing_agent=components.agent(tx.find("InstgAgt")))
