"""A payment's whole lifecycle, for `tokenbridge status REF`: the message it came in, each
transaction's ledger operation and current status, the replies sent, the statement mints that
claimed it, and what was returned of it (pacs.004).

REF is a UETR, an EndToEndId or a MsgId (a MsgId names every transaction of its message). The
current status of each transaction is the one a pacs.028 would be answered with
(`lookup.current_status`), so the command and the status report never disagree. Messages are
found by MsgId in the inbox; a UETR or EndToEndId leads to its message through the ledger (the
operation under `uetr:<uetr>`, or a posting carrying the reference), so a rejected transaction
is found by its message's MsgId, or by its UETR/EndToEndId when a sibling in its message was applied.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.iso.reader import MessageReader
from bridge.messages import InboundRecord, SentMessage
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage
from bridge.payments.keys import transaction_keys, uetr_key
from bridge.ports import PaymentClaim, RecordedOperation, ReturnEntry, UnitOfWork
from bridge.payments.originals import PAYMENT_FAMILY
from bridge.status_requests.lookup import CurrentStatus, current_status
from bridge.status_requests.request import OriginalGroup, RequestedTransaction

PENDING_SCAN = 10_000
"""How many unpublished outbox messages are looked at to tell a reply that is not correlated to
its message (an admi.002 to unreadable input) published or not."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A message the bridge wrote about the payment (its pacs.002, admi.002, follow-ups)."""

    message_id: str
    message_type: str
    published: bool
    queued_at: datetime | None = None  # when it went into the outbox (None: not known)


@dataclass(frozen=True, slots=True)
class TransactionLifecycle:
    """One transaction of the message: its references, its operation, its current status."""

    index: int
    end_to_end_id: str
    uetr: str | None
    instruction_id: str | None
    transaction_id: str | None
    amount: str  # as written, in major units
    currency: str
    current: CurrentStatus
    operation: RecordedOperation | None  # the ledger operation it was applied as, if any
    claims: tuple[PaymentClaim, ...] = ()  # statement/payment roads that claimed its references
    returned: int = 0  # minor units returned since (pacs.004 in, `tokenbridge return`)
    returns: tuple[ReturnEntry, ...] = ()  # each return, in the order recorded


@dataclass(frozen=True, slots=True)
class MessageLifecycle:
    """One received message (inbox record) and the transactions of it REF names."""

    received_at: datetime
    message_type: str | None
    message_id: str | None
    business_message_id: str | None
    sender: str | None
    verdict: str
    summary: str
    replies: tuple[Reply, ...]
    transactions: tuple[TransactionLifecycle, ...]


def lifecycle(ref: str, uow: UnitOfWork, reader: MessageReader) -> list[MessageLifecycle]:
    """Every received message REF names, with the transactions it names; [] when none."""
    ref = ref.strip()
    if not ref:
        return []
    found: list[MessageLifecycle] = []
    seen: set[str] = set()
    for message_id in _candidate_message_ids(ref, uow):
        for record in uow.inbox.by_message_id(message_id):
            if record.digest in seen:
                continue
            seen.add(record.digest)
            entry = _message(ref, record, uow, reader)
            if entry is not None:
                found.append(entry)
    return sorted(found, key=lambda m: m.received_at)


def _candidate_message_ids(ref: str, uow: UnitOfWork) -> list[str]:
    """REF itself (as a MsgId), and the MsgIds of ledger operations carrying REF as UETR or
    EndToEndId."""
    ids = [ref]
    recorded = uow.ledger.find(uetr_key(ref.lower()))
    if recorded is not None and recorded.operation.refs.message_id:
        ids.append(recorded.operation.refs.message_id)
    for currency in uow.ledger.supply():
        for posting in uow.ledger.journal(currency=currency):
            refs = posting.refs
            if refs.message_id and ref in (refs.end_to_end_id, (refs.uetr or "").lower(), refs.uetr):
                ids.append(refs.message_id)
    return list(dict.fromkeys(ids))


def _message(ref: str, record: InboundRecord, uow: UnitOfWork,
             reader: MessageReader) -> MessageLifecycle | None:
    transactions: tuple[TransactionLifecycle, ...] = ()
    whole = record.message_id == ref
    if (record.message_type or "").startswith(PAYMENT_FAMILY):
        payload = reader.read(record.raw).payload
        if isinstance(payload, CreditTransferMessage):
            transactions = tuple(_transaction(t, payload, record, uow, reader)
                                 for t in payload.transactions if whole or _names(ref, t))
    if not whole and not transactions:
        return None
    return MessageLifecycle(record.received_at, record.message_type, record.message_id,
                            record.business_message_id, record.sender, record.verdict,
                            record.summary, _replies(record, uow), transactions)


def _names(ref: str, tx: CreditTransfer) -> bool:
    return ref == tx.end_to_end_id or (tx.uetr is not None and ref.lower() == tx.uetr.lower())


def _transaction(tx: CreditTransfer, payload: CreditTransferMessage, record: InboundRecord,
                 uow: UnitOfWork, reader: MessageReader) -> TransactionLifecycle:
    # the status request's own lookup: the same answer a pacs.028 would get
    group = OriginalGroup(record.message_id or "", record.message_type or "")
    asked = RequestedTransaction(index=tx.index, original_group=group,
                                 instruction_id=tx.instruction_id, end_to_end_id=tx.end_to_end_id,
                                 transaction_id=tx.transaction_id, uetr=tx.uetr)
    current = current_status(asked, group, uow, reader)
    key = transaction_keys(payload)[tx.index]
    operation = uow.ledger.find(key)
    references = [r for r in (tx.uetr, tx.end_to_end_id) if r]
    claims = tuple(uow.ledger.find_claims(references)) if references else ()
    return TransactionLifecycle(tx.index, tx.end_to_end_id, tx.uetr, tx.instruction_id,
                                tx.transaction_id, str(tx.amount.value), tx.amount.currency,
                                current, operation, claims, uow.returns.returned(key),
                                tuple(uow.returns.entries(key)))


def _replies(record: InboundRecord, uow: UnitOfWork) -> tuple[Reply, ...]:
    """Every message sent about the record's message (its reply, pacs.002 or admi.002, then
    follow-ups, returns, resolutions, notifications), oldest first: the outbox finds them by the
    original's BizMsgIdr or MsgId, their correlation id."""
    correlation = record.business_message_id or record.message_id
    sent = uow.outbox.correlated(correlation) if correlation else []
    if record.reply_id is not None and all(s.message.message_id != record.reply_id for s in sent):
        reply = uow.outbox.get(record.reply_id)  # a reply correlated otherwise (an admi.002)
        if reply is not None:
            published = reply.message_id not in {m.message_id for m in uow.outbox.pending(limit=PENDING_SCAN)}
            return (Reply(reply.message_id, reply.message_type, published),
                    *(_sent(s) for s in sent))
    return tuple(_sent(s) for s in sent)


def _sent(sent: SentMessage) -> Reply:
    return Reply(sent.message.message_id, sent.message.message_type, sent.published, sent.created_at)
