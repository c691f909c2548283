"""A hold as JSON (`tokenbridge holds list --json`, GET /api/holds): amounts in major units."""
from __future__ import annotations

from typing import Any

from bridge.holds.terms import Hold
from bridge.money import Amount


def hold_json(held: Hold) -> dict[str, Any]:
    op, refs = held.operation, held.operation.refs
    return {"key": held.key, "kind": str(held.terms.kind), "state": str(held.state),
            "operation": op.kind, "currency": op.currency,
            "amount": str(Amount.from_minor(op.amount, op.currency).value),
            "debit_wallet": op.debit_wallet, "credit_wallet": op.credit_wallet,
            "message_id": refs.message_id, "end_to_end_id": refs.end_to_end_id, "uetr": refs.uetr,
            "expiry": held.terms.expiry.isoformat(), "sha256": held.terms.sha256,
            "created_at": held.created_at.isoformat() if held.created_at else None,
            "ended_at": held.ended_at.isoformat() if held.ended_at else None,
            "end_reason": held.end_reason, "ended_by": held.ended_by,
            "wrong_fulfilments": held.wrong_fulfilments}
