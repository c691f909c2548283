"""A payment's lifecycle as JSON, and as a timeline: the form `tokenbridge status --json` prints
and the operations console draws (`GET /api/payments/{ref}`), so both say the same.

The timeline orders what happened to the payment: the message in, its validation verdict, each
ledger operation, every message sent about it (its reply, settlement follow-ups, and whatever
later families correlate to it: returns, cancellation resolutions, notifications), and the
statement mints that claimed its references.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.reconciliation.report import money as major
from bridge.status_requests.lifecycle import MessageLifecycle, TransactionLifecycle


def message_json(m: MessageLifecycle) -> dict[str, Any]:
    return {"received_at": m.received_at.isoformat(), "message_type": m.message_type,
            "message_id": m.message_id, "business_message_id": m.business_message_id,
            "sender": m.sender, "verdict": m.verdict, "summary": m.summary,
            "replies": [{"message_id": r.message_id, "message_type": r.message_type,
                         "published": r.published,
                         "queued_at": None if r.queued_at is None else r.queued_at.isoformat()}
                        for r in m.replies],
            "transactions": [transaction_json(t) for t in m.transactions]}


def transaction_json(t: TransactionLifecycle) -> dict[str, Any]:
    recorded = t.operation
    operation = None if recorded is None else {
        "key": recorded.operation.key, "kind": recorded.operation.kind,
        "amount": major(recorded.operation.amount, recorded.operation.currency),
        "currency": recorded.operation.currency,
        "debit_wallet": recorded.operation.debit_wallet,
        "credit_wallet": recorded.operation.credit_wallet,
        "sequence": recorded.sequence, "applied_at": recorded.applied_at.isoformat(),
        "status": str(recorded.status)}
    return {"index": t.index, "end_to_end_id": t.end_to_end_id, "uetr": t.uetr,
            "instruction_id": t.instruction_id, "transaction_id": t.transaction_id,
            "amount": t.amount, "currency": t.currency,
            "status": str(t.current.status), "reason": code_text(t.current.reason),
            "info": t.current.info, "operation": operation,
            "claims": [{"reference": c.reference, "operation_key": c.operation_key, "road": c.road}
                       for c in t.claims],
            "returned": major(t.returned, t.currency) if t.returned else None,
            "returns": [{"return_key": r.return_key, "amount": major(r.amount, r.currency),
                         "reason": r.reason, "origin": r.origin, "message_id": r.message_id,
                         "returned_at": r.returned_at.isoformat() if r.returned_at else None}
                        for r in t.returns]}


def code_text(value: object) -> str | None:
    """A reason code (a StrEnum or text) as its text."""
    return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime | None  # None: not known (drawn after the message it belongs to)
    kind: str  # received, verdict, operation, status, sent, claimed
    title: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"at": None if self.at is None else self.at.isoformat(), "kind": self.kind,
                "title": self.title, "detail": self.detail}


def timeline(messages: list[MessageLifecycle]) -> list[TimelineEvent]:
    """Everything that happened to the payment, message by message (oldest first), each in the
    order of cause and effect: in, verdict, operations and statuses, then what was sent, oldest
    first. (The inbox stamps a message when its unit of work records it, after its operations:
    the times alone would put the effect before the cause.)"""
    events: list[TimelineEvent] = []
    for m in messages:
        events.append(TimelineEvent(m.received_at, "received", f"{m.message_type or 'unreadable message'} in",
                                    f"MsgId {m.message_id or '?'} from {m.sender or '?'}"))
        events.append(TimelineEvent(m.received_at, "verdict", f"validated: {m.verdict}", m.summary))
        for t in m.transactions:
            events.extend(_transaction_events(t))
        events.extend(TimelineEvent(r.queued_at, "sent", f"{r.message_type} out",
                                    f"{r.message_id} ({'published' if r.published else 'in the outbox'})")
                      for r in sorted(m.replies, key=lambda r: r.queued_at.timestamp() if r.queued_at else 0.0))
    return events


def _transaction_events(t: TransactionLifecycle) -> list[TimelineEvent]:
    name = t.uetr or t.end_to_end_id
    found = []
    if t.operation is not None:
        op = t.operation.operation
        found.append(TimelineEvent(
            t.operation.applied_at, "operation", f"{op.kind} {major(op.amount, op.currency)} {op.currency}",
            f"{op.debit_wallet or 'issuance'} -> {op.credit_wallet or 'issuance'}, key {op.key} "
            f"({t.operation.status})"))
    reason = " ".join(x for x in (code_text(t.current.reason), t.current.info) if x)
    found.append(TimelineEvent(t.operation.applied_at if t.operation else None, "status",
                               f"transaction {name}: {t.current.status}",
                               f"{t.amount} {t.currency}" + (f"; {reason}" if reason else "")))
    found.extend(TimelineEvent(None, "claimed", f"reference {c.reference} claimed by the {c.road} road",
                               f"mint {c.operation_key}") for c in t.claims)
    return found
