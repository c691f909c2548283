"""A requested transaction's current status, found from what the bridge already keeps.

Nothing new is recorded per transaction: the inbox keeps every pacs.008's bytes and the pacs.002
that answered it, and the ledger keeps every applied operation under its idempotency key. So:

- named by its original message (`OrgnlGrpInf/OrgnlMsgId`, with OrgnlEndToEndId, OrgnlTxId,
  OrgnlInstrId or OrgnlUETR): the original is re-read from its inbox record and the transaction
  matched by the references given; its answer (the stored pacs.002) says what it was answered
  with. A rejection is final (RJCT with its reason, as answered); an accepted transaction's
  current status is its ledger operation's, found by the key the payment was applied under
  (bridge.payments.keys): ACSP until final, then ACSC (RJCT MS03 if it failed to settle);
- named by UETR only: the ledger operation under `uetr:<uetr>` (a rejected transaction has
  none: without its MsgId it is not found);
- otherwise, or found nowhere: not received (AG09).
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from bridge.codes import Reason, Status
from bridge.iso.catalogue import message_type_of
from bridge.iso.reader import MessageReader
from bridge.iso.safe_xml import parse_untrusted
from bridge.iso.xmlnav import Node
from bridge.messages import InboundRecord
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage
from bridge.payments.keys import transaction_keys, uetr_key
from bridge.ports import RecordedOperation, UnitOfWork
from bridge.status_requests.request import OriginalGroup, RequestedTransaction

PAYMENT_FAMILY = ("pacs.008", "pacs.009")
"""The payment families a status request asks about (a message type starts with one of them)."""
"""The payments a status request may ask about (pacs.009 and others: not received)."""


@dataclass(frozen=True, slots=True)
class CurrentStatus:
    """What the status report says of one requested transaction."""

    status: Status
    reason: str | None = None
    info: str | None = None
    original: OriginalGroup | None = None  # the message the payment came in, when found
    instruction_id: str | None = None  # the original's references, else the request's
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None


def current_status(tx: RequestedTransaction, group: OriginalGroup | None, uow: UnitOfWork,
                   reader: MessageReader) -> CurrentStatus:
    """The current status of `tx`, whose original message is `group` when the request says."""
    if group is not None and _references(tx):
        for record in uow.inbox.by_message_id(group.message_id):
            found = _in_original(tx, record, uow, reader)
            if found is not None:
                return found
    if tx.uetr:
        recorded = uow.ledger.find(uetr_key(tx.uetr))
        if recorded is not None:
            refs = recorded.operation.refs
            return CurrentStatus(*_settled(recorded), original=_message_group(refs.message_id, uow, reader),
                                 instruction_id=refs.instruction_id or tx.instruction_id,
                                 end_to_end_id=refs.end_to_end_id or tx.end_to_end_id,
                                 transaction_id=refs.transaction_id or tx.transaction_id,
                                 uetr=tx.uetr)
    return CurrentStatus(Status.REJECTED, Reason.PAYMENT_NOT_RECEIVED,
                         "no payment received with these references", group,
                         tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr)


def _references(tx: RequestedTransaction) -> tuple[tuple[str, str], ...]:
    """The transaction references the request gives, by the field they match in a pacs.008."""
    given = (("instruction_id", tx.instruction_id), ("end_to_end_id", tx.end_to_end_id),
             ("transaction_id", tx.transaction_id), ("uetr", tx.uetr.lower() if tx.uetr else None))
    return tuple((name, value) for name, value in given if value)


def _matches(tx: RequestedTransaction, original: CreditTransfer) -> bool:
    for name, value in _references(tx):
        theirs = getattr(original, name)
        if (theirs.lower() if name == "uetr" and theirs else theirs) != value:
            return False
    return True


def _in_original(tx: RequestedTransaction, record: InboundRecord, uow: UnitOfWork,
                 reader: MessageReader) -> CurrentStatus | None:
    """`tx` as a transaction of the answered pacs.008 `record`, or None when it is not one."""
    if not (record.message_type or "").startswith(PAYMENT_FAMILY) or record.reply_id is None:
        return None
    read = reader.read(record.raw)
    reply = uow.outbox.get(record.reply_id)
    answered = _answer_of(reply.body) if reply is not None else None
    group = OriginalGroup(record.message_id or "", record.message_type or "",
                          None, read.created_at_text)
    payload = read.payload
    if not isinstance(payload, CreditTransferMessage):  # unreadable: rejected as a whole
        if answered is None or answered.group_status != Status.REJECTED:
            return None
        return CurrentStatus(Status.REJECTED, answered.group_reason, answered.group_info, group,
                             tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr)
    index = next((t.index for t in payload.transactions if _matches(tx, t)), None)
    if index is None:
        return None
    original = payload.transactions[index]
    refs = dict(original=group, instruction_id=original.instruction_id,
                end_to_end_id=original.end_to_end_id, transaction_id=original.transaction_id,
                uetr=original.uetr)
    said = answered.transactions[index] if answered and index < len(answered.transactions) else None
    if said is not None and said[0] == Status.REJECTED:
        return CurrentStatus(Status.REJECTED, said[1], said[2], **refs)
    recorded = uow.ledger.find(transaction_keys(payload)[index])
    if recorded is not None:
        status, reason, info = _settled(recorded)
        if info is None and original.underlying is not None:  # a cover: what it covers
            info = original.underlying.describe()
        return CurrentStatus(status, reason, info, **refs)
    if said is not None:  # accepted, but no operation (since reversed or lost): as answered
        return CurrentStatus(Status(said[0]), said[1], said[2], **refs)
    return None


def _settled(recorded: RecordedOperation) -> tuple[Status, str | None, str | None]:
    """Status, reason and info of a ledger operation. One that failed to settle after it was
    accepted (EVM) is RJCT; the port does not say why (its follow-up pacs.002 did): MS03."""
    status = Status(recorded.status)
    if status == Status.REJECTED:
        return status, Reason.NOT_SPECIFIED_AGENT, "the accepted operation failed to settle on the ledger"
    return status, None, None


def _message_group(message_id: str | None, uow: UnitOfWork,
                   reader: MessageReader) -> OriginalGroup | None:
    """The pacs.008 a ledger operation came from, as its inbox record shows it."""
    if not message_id:
        return None
    for record in uow.inbox.by_message_id(message_id):
        if (record.message_type or "").startswith(PAYMENT_FAMILY):
            return OriginalGroup(message_id, record.message_type or "", None,
                                 reader.read(record.raw).created_at_text)
    return None


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a stored pacs.002 said: its group status and reason, each transaction's."""

    group_status: str | None
    group_reason: str | None
    group_info: str | None
    transactions: tuple[tuple[str, str | None, str | None], ...]  # TxSts, reason, AddtlInf


def _answer_of(body: bytes) -> _Answer | None:
    """Read a pacs.002 the bridge wrote (bare Document, or in an Envelope with its AppHdr)."""
    root = parse_untrusted(body)
    document = root if etree.QName(root).localname == "Document" else next(
        (e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "Document"), None)
    if document is None:
        return None
    namespace = etree.QName(document).namespace or ""
    if not (message_type_of(namespace) or "").startswith("pacs.002"):
        return None
    report = next((Node(e, namespace) for e in document if isinstance(e.tag, str)), None)
    if report is None:
        return None

    def reason(node: Node) -> tuple[str | None, str | None]:
        return (node.first_text("StsRsnInf/Rsn/Cd", "StsRsnInf/Rsn/Prtry", "StsRsnInf/StsRsn/Cd",
                                "StsRsnInf/StsRsn/Prtry"),
                node.first_text("StsRsnInf/AddtlInf", "StsRsnInf/AddtlStsRsnInf"))

    group = report.find("OrgnlGrpInfAndSts")
    group_reason = reason(group) if group is not None else (None, None)
    return _Answer(group.text("GrpSts") if group is not None else None, *group_reason,
                   tuple((tx.text("TxSts") or "", *reason(tx)) for tx in report.findall("TxInfAndSts")))
