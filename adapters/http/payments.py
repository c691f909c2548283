"""Payment search and a payment's timeline; returning a payment (not available yet)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from adapters.http.access import operator, viewer
from adapters.http.context import ConsoleContext, context
from adapters.sql.api_tokens import ApiToken
from bridge.status_requests.lifecycle import lifecycle
from bridge.status_requests.search import find_payments
from bridge.status_requests.timeline import message_json, timeline

router = APIRouter(prefix="/api/payments", tags=["payments"], dependencies=[Depends(viewer)])


@router.get("")
def search(q: str = Query(..., min_length=1, max_length=200,
                          description="a UETR, EndToEndId, MsgId, account (IBAN, ...) or wallet"),
           console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """The payments a reference, an account or a wallet names."""
    with console.store() as uow:
        found_by, matches = find_payments(q, uow, console.reader)
    return {"query": q, "found_by": str(found_by), "matches": [
        {"ref": m.ref, "message_id": m.message_id, "message_type": m.message_type, "uetr": m.uetr,
         "end_to_end_id": m.end_to_end_id, "kind": m.kind, "amount": m.amount,
         "currency": m.currency, "debit_wallet": m.debit_wallet, "credit_wallet": m.credit_wallet,
         "at": m.at.isoformat(), "status": m.status} for m in matches]}


@router.get("/{ref}")
def payment(ref: str, console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """A payment's lifecycle (as `tokenbridge status REF --json`) and its timeline."""
    with console.store() as uow:
        messages = lifecycle(ref, uow, console.reader)
    if not messages:
        raise HTTPException(404, f"no payment found for {ref} (as UETR, EndToEndId or MsgId)")
    return {"ref": ref, "found": True, "messages": [message_json(m) for m in messages],
            "timeline": [e.as_json() for e in timeline(messages)]}


@router.post("/{ref}/return", status_code=501)
def return_payment(ref: str, _token: ApiToken = Depends(operator)) -> dict[str, Any]:
    """Return a settled payment (pacs.004): not available yet, nothing is done."""
    raise HTTPException(501, "returns are not available yet (they come with pacs.004 support); "
                             "nothing was done")
