"""Reading a camt.056 `FIToFIPmtCxlReq` (versions .01 to .12) into a CancellationRequestMessage.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs (only what is read here):
- every version has `Assgnmt` (Id, Assgnr, Assgne, CreDtTm), an optional `Case` (Id, Cretr)
  and one or more `Undrlyg`, each with an optional `OrgnlGrpInfAndCxl` (OrgnlMsgId,
  OrgnlMsgNmId, OrgnlCreDtTm, GrpCxl, CxlRsnInf) and any number of `TxInf`;
- `TxInf` has CxlId, Case, OrgnlGrpInf, OrgnlInstrId, OrgnlEndToEndId, OrgnlTxId in every
  version; `OrgnlUETR` exists from .08 on;
- `Assgnr`/`Assgne` are a Party choice (`Pty` or `Agt`); an agent is `FinInstnId/BIC` in .01
  and `FinInstnId/BICFI` from .02, or `ClrSysMmbId/MmbId` (FedNow, RTP);
- `CxlRsnInf/Rsn/Cd` is a closed list in .01-.05 (CancellationReason4Code, then 5Code) and
  ExternalCancellationReason1Code from .06 on; `Prtry` in all.
"""
from __future__ import annotations

from lxml import etree

from bridge.cancellations.request import CancellationRequestMessage, TransactionCancellation
from bridge.iso import components
from bridge.iso.errors import MessageReadError
from bridge.iso.pacs028 import original_group
from bridge.iso.xmlnav import Node, to_datetime
from bridge.status_requests.request import OriginalGroup

MESSAGE_FAMILY = "camt.056.001"
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(1, 13))
ROOT = "FIToFIPmtCxlReq"


def read_cancellation_request(document: etree._Element) -> CancellationRequestMessage:
    """Map an XSD-valid camt.056 Document to a CancellationRequestMessage, one
    TransactionCancellation per `Undrlyg/TxInf`, in document order.

    Raises MessageReadError when `document` is not a camt.056.001.01-.12 Document.
    """
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS, ROOT)
    assignment = root.find("Assgnmt")
    assignment_id = assignment.text("Id") if assignment is not None else None
    if assignment is None or assignment_id is None:
        raise MessageReadError(f"{ROOT} has no Assgnmt/Id")
    created = assignment.text("CreDtTm")
    groups: list[OriginalGroup] = []
    transactions: list[TransactionCancellation] = []
    for underlying in root.findall("Undrlyg"):
        group = original_group(underlying.find("OrgnlGrpInfAndCxl"))
        if group is not None:
            groups.append(group)
        for tx in underlying.findall("TxInf"):
            transactions.append(_transaction(len(transactions), tx, group))
    return CancellationRequestMessage(
        message_type=message_type, assignment_id=assignment_id, created_at=to_datetime(created),
        created_at_text=created, assigner=components.agent(assignment.find("Assgnr/Agt")),
        assignee=components.agent(assignment.find("Assgne/Agt")), case_id=root.text("Case/Id"),
        case_creator=components.agent(root.find("Case/Cretr/Agt")),
        original_groups=tuple(groups), transactions=tuple(transactions))


def _transaction(index: int, tx: Node, group: OriginalGroup | None) -> TransactionCancellation:
    return TransactionCancellation(
        index=index, cancellation_id=tx.text("CxlId"), case_id=tx.text("Case/Id"),
        original_group=original_group(tx.find("OrgnlGrpInf")) or group,
        instruction_id=tx.text("OrgnlInstrId"), end_to_end_id=tx.text("OrgnlEndToEndId"),
        transaction_id=tx.text("OrgnlTxId"), uetr=tx.text("OrgnlUETR"),
        reason=tx.first_text("CxlRsnInf/Rsn/Cd", "CxlRsnInf/Rsn/Prtry"),
        reason_info=tx.text("CxlRsnInf/AddtlInf"))
