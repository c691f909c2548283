"""Payment search and a payment's timeline; returning a payment (an operator's action, audited)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from adapters.http.access import operator, viewer
from adapters.http.context import ConsoleContext, context
from adapters.http.operator_actions import record
from adapters.sql.api_tokens import ApiToken
from adapters.sql.operator_actions import record_action
from bridge.money import Amount, CurrencyError
from bridge.notifications.notices import configured, notified
from bridge.returns.reference import originals_named
from bridge.returns.return_message import ReturnReason
from bridge.returns.service import return_payment
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


class ReturnAsked(BaseModel):
    """What an operator asks: an ExternalReturnReason1Code, the amount in major units (none: all
    that is left) and additional information for the pacs.004."""

    reason: str = Field(pattern=r"^[A-Z0-9]{1,4}$")
    amount: str | None = None
    info: str | None = Field(default=None, max_length=105)


@router.post("/{ref}/return")
def return_payment_(ref: str, asked: ReturnAsked, console: ConsoleContext = Depends(context),
                    token: ApiToken = Depends(operator)) -> dict[str, Any]:
    """Return (part of) a settled payment, as `tokenbridge return` does: the reversal and its
    pacs.004 (queued for `tokenbridge.out`) commit together; the action is recorded with the
    token's name. 404 no payment, 409 several (name one by UETR or MSGID/E2EID), 422 refused."""
    with console.store() as uow:
        found = originals_named(ref, uow, console.reader)
        if len(found) == 1:
            original = found[0]
    if len(found) != 1:
        record(console, token, "return", ref, "not_found" if not found else "ambiguous",
               f"{len(found)} payments named")
        raise HTTPException(404 if not found else 409,
                            f"{ref} names {len(found)} settled payments" + (
                                ": " + ", ".join(f"{o.message.group_header.message_id}/"
                                                 f"{o.transaction.end_to_end_id}" for o in found)
                                if found else ""))
    with console.store() as uow:
        currency = original.recorded.operation.currency
        try:
            units = Amount(Decimal(asked.amount), currency).to_minor() if asked.amount else None
        except (InvalidOperation, CurrencyError) as exc:
            raise HTTPException(400, f"amount {asked.amount!r} is not an amount in {currency}: {exc}") from None
        if units is not None and units <= 0:
            raise HTTPException(400, "amount must be positive")
        with notified(uow, configured(console.config, console.clock), console.clock):
            done = return_payment(uow, original, reason=ReturnReason(asked.reason, info=asked.info),
                                  config=console.config, now=console.clock(), amount=units)
        if not done.refused:  # the action's record commits with the return itself
            record_action(uow.connection, token_name=token.name, action="return", target=ref,
                          outcome="done", at=console.clock(),
                          detail=f"{done.operation.kind} {done.operation.amount} {currency}; "
                                 f"{done.message.message_id}")
            uow.commit()
    if done.refused:
        record(console, token, "return", ref, "refused", f"{done.reason} {done.info}")
        raise HTTPException(422, f"refused {done.reason}: {done.info}")
    return {"ref": ref, "returned": True, "status": str(done.status),
            "operation": {"key": done.operation.key, "kind": done.operation.kind,
                          "debit_wallet": done.operation.debit_wallet,
                          "credit_wallet": done.operation.credit_wallet},
            "returned_total": str(Amount.from_minor(done.returned, currency).value),
            "fully_returned": done.fully_returned,
            "message": {"message_id": done.message.message_id, "message_type": done.message.message_type}}
