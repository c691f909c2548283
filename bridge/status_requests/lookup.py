"""A requested transaction's current status, found from what the bridge already keeps.

Nothing new is recorded per transaction: the inbox keeps every pacs.008's bytes and the pacs.002
that answered it, and the ledger keeps every applied operation under its idempotency key. So:

- named by its original message (`OrgnlGrpInf/OrgnlMsgId`, with OrgnlEndToEndId, OrgnlTxId,
  OrgnlInstrId or OrgnlUETR): the original is re-read from its inbox record and the transaction
  matched by the references given; its answer (the stored pacs.002) says what it was answered
  with. A rejection is final (RJCT with its reason, as answered); an accepted transaction's
  current status is its ledger operation's, found by the key the payment was applied under
  (bridge.payments.keys): ACSP until final, then ACSC (RJCT MS03 if it failed to settle, RJCT
  DS02 if cancelled on request); a payment returned since (pacs.004) is ACSC with AddtlInf saying
  how much came back;
- named by UETR only: the ledger operation under `uetr:<uetr>` (a rejected transaction has
  none: without its MsgId it is not found);
- otherwise, or found nowhere: not received (AG09).

`find_original` is the search (bridge.payments.originals) with the status, for whoever needs the
original and not only its status (a cancellation request, bridge.cancellations): the key it was
applied under and who sent it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lxml import etree

from bridge.codes import Reason, Status
from bridge.iso.catalogue import message_type_of
from bridge.iso.reader import MessageReader
from bridge.iso.safe_xml import parse_untrusted
from bridge.iso.xmlnav import Node
from bridge.messages import InboundRecord
from bridge.money import Amount
from bridge.payments.credit_transfer import CreditTransferMessage
from bridge.payments.keys import uetr_key
from bridge.payments.originals import OriginalRefs, in_message, is_payment
from bridge.ports import Inbox, RecordedOperation, UnitOfWork
from bridge.status_requests.request import OriginalGroup


class TransactionReferences(Protocol):
    """What a request names a transaction by (pacs.028 and camt.056 alike)."""

    instruction_id: str | None
    end_to_end_id: str | None
    transaction_id: str | None
    uetr: str | None


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


@dataclass(frozen=True, slots=True)
class FoundOriginal:
    """A payment a request names, as the bridge received it."""

    current: CurrentStatus
    key: str | None  # the idempotency key it was (or would have been) applied under
    sender: str | None  # who sent its pacs.008 (the inbox record's sender)
    answered_rejected: bool  # its pacs.008 was answered RJCT for it: never applied under `key`


def current_status(tx: TransactionReferences, group: OriginalGroup | None, uow: UnitOfWork,
                   reader: MessageReader) -> CurrentStatus:
    """The current status of `tx`, whose original message is `group` when the request says."""
    found = find_original(tx, group, uow, reader)
    if found is not None:
        return found.current
    return CurrentStatus(Status.REJECTED, Reason.PAYMENT_NOT_RECEIVED,
                         "no payment received with these references", group,
                         tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr)


def find_original(tx: TransactionReferences, group: OriginalGroup | None, uow: UnitOfWork,
                  reader: MessageReader) -> FoundOriginal | None:
    """The payment `tx` names (its original message is `group` when the request says), or None
    when the bridge never received it."""
    if group is not None and _refs(tx).given():
        for record in uow.inbox.by_message_id(group.message_id):
            found = _in_original(tx, record, uow, reader)
            if found is not None:
                return found
    if tx.uetr:
        recorded = uow.ledger.find(uetr_key(tx.uetr))
        if recorded is not None:
            refs = recorded.operation.refs
            record = payment_record(refs.message_id, uow.inbox)
            original = (OriginalGroup(refs.message_id or "", record.message_type or "", None,
                                      reader.read(record.raw).created_at_text) if record else None)
            current = CurrentStatus(*_settled(recorded, uow), original=original,
                                    instruction_id=refs.instruction_id or tx.instruction_id,
                                    end_to_end_id=refs.end_to_end_id or tx.end_to_end_id,
                                    transaction_id=refs.transaction_id or tx.transaction_id,
                                    uetr=tx.uetr)
            return FoundOriginal(current, uetr_key(tx.uetr), record.sender if record else None, False)
    return None


def _refs(tx: TransactionReferences) -> OriginalRefs:
    return OriginalRefs(tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr)


def _in_original(tx: TransactionReferences, record: InboundRecord, uow: UnitOfWork,
                 reader: MessageReader) -> FoundOriginal | None:
    """`tx` as a transaction of the answered pacs.008 `record`, or None when it is not one."""
    if not is_payment(record) or record.reply_id is None:
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
        return FoundOriginal(CurrentStatus(Status.REJECTED, answered.group_reason, answered.group_info,
                                           group, tx.instruction_id, tx.end_to_end_id,
                                           tx.transaction_id, tx.uetr), None, record.sender, True)
    found = in_message(_refs(tx), record, read, uow)
    if found is None:
        return None
    index, original, key = found.index, found.transaction, found.key
    refs = dict(original=group, instruction_id=original.instruction_id,
                end_to_end_id=original.end_to_end_id, transaction_id=original.transaction_id,
                uetr=original.uetr)
    said = answered.transactions[index] if answered and index < len(answered.transactions) else None
    if said is not None and said[0] == Status.REJECTED:
        return FoundOriginal(CurrentStatus(Status.REJECTED, said[1], said[2], **refs), key,
                             record.sender, True)
    if found.recorded is not None:
        return FoundOriginal(CurrentStatus(*_settled(found.recorded, uow), **refs), key, record.sender,
                             False)
    if said is not None:  # accepted, but no operation (since reversed or lost): as answered
        return FoundOriginal(CurrentStatus(Status(said[0]), said[1], said[2], **refs), key,
                             record.sender, False)
    return None


def _settled(recorded: RecordedOperation, uow: UnitOfWork) -> tuple[Status, str | None, str | None]:
    """Status, reason and info of a ledger operation. One cancelled on request before it took
    effect is RJCT DS02. One that failed to settle after it was accepted (EVM) is RJCT; the port
    does not say why (its follow-up pacs.002 did): MS03. One returned since (pacs.004) stays
    ACSC, its AddtlInf saying how much came back."""
    status = Status(recorded.status)
    if recorded.cancelled:
        return Status.REJECTED, Reason.ORDER_CANCELLED, "cancelled on request (camt.056) before it took effect"
    if status == Status.REJECTED:
        return status, Reason.NOT_SPECIFIED_AGENT, "the accepted operation failed to settle on the ledger"
    return status, None, returned_info(recorded, uow.returns.returned(recorded.operation.key))


def returned_info(recorded: RecordedOperation, returned: int) -> str | None:
    """`fully returned (100.00 EUR)` or `partly returned: 40.00 of 100.00 EUR`; None when none was."""
    if returned <= 0:
        return None
    paid = recorded.operation
    back, whole = (Amount.from_minor(units, paid.currency).value for units in (returned, paid.amount))
    if returned >= paid.amount:
        return f"fully returned ({back} {paid.currency})"
    return f"partly returned: {back} of {whole} {paid.currency}"


def payment_record(message_id: str | None, inbox: Inbox) -> InboundRecord | None:
    """The pacs.008 a ledger operation came from (its MsgId), as the inbox keeps it."""
    if not message_id:
        return None
    return next((r for r in inbox.by_message_id(message_id) if is_payment(r)), None)


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
