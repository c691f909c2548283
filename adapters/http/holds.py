"""Held, value-dated and conditional payments: the list for viewers; release and void for
operators, as `tokenbridge holds` does them, each recorded with the token's name in the same
transaction as the hold's ending and its follow-up pacs.002."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from adapters.http.access import operator, viewer
from adapters.http.context import ConsoleContext, context
from adapters.http.operator_actions import record
from adapters.sql.api_tokens import ApiToken
from adapters.sql.operator_actions import record_action
from bridge.holds import service
from bridge.holds.terms import HoldState
from bridge.holds.views import hold_json
from bridge.settlement.follow_ups import SettlementFollowUps

router = APIRouter(prefix="/api/holds", tags=["holds"], dependencies=[Depends(viewer)])


@router.get("")
def holds(state: HoldState | None = Query(None), console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """Every hold (or those in one state), oldest first."""
    with console.store() as uow:
        found = uow.ledger.holds(state)
    return {"holds": [hold_json(h) for h in found]}


class Release(BaseModel):
    """The fulfilment of the payment's hashlock (hex), or an operator's reason."""

    fulfilment: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=140)


class Void(BaseModel):
    reason: str = Field(min_length=1, max_length=140)
    code: str = Field(default="MS03", pattern=r"^[A-Z0-9]{4}$")


@router.post("/{ref}/release")
def release(ref: str, asked: Release, console: ConsoleContext = Depends(context),
            token: ApiToken = Depends(operator)) -> dict[str, Any]:
    """Execute a held payment: 404 no hold, 409 several, 422 refused (a wrong fulfilment is
    counted on the hold and recorded)."""
    if (asked.fulfilment is None) == (asked.reason is None):
        raise HTTPException(400, "give either fulfilment or reason")
    return _act(ref, "release", console, token, lambda uow, held, follow_ups: service.release(
        uow, held, now=console.clock(), follow_ups=follow_ups, fulfilment=asked.fulfilment,
        operator=None if asked.fulfilment else token.name, reason=asked.reason))


@router.post("/{ref}/void")
def void(ref: str, asked: Void, console: ConsoleContext = Depends(context),
         token: ApiToken = Depends(operator)) -> dict[str, Any]:
    """Void a held payment (RJCT follow-up with `code`): 404 no hold, 409 several, 422 refused."""
    return _act(ref, "void", console, token, lambda uow, held, follow_ups: service.void(
        uow, held, now=console.clock(), follow_ups=follow_ups, operator=token.name, reason=asked.reason,
        code=asked.code))


def _act(ref: str, action: str, console: ConsoleContext, token: ApiToken, act) -> dict[str, Any]:
    with console.store() as uow:
        found = service.holds_named(ref, uow)
    if len(found) != 1:
        record(console, token, f"hold.{action}", ref, "not_found" if not found else "ambiguous",
               f"{len(found)} holds named")
        raise HTTPException(404 if not found else 409, f"{ref} names {len(found)} holds")
    follow_ups = SettlementFollowUps(console.reader, console.config, console.clock)
    with console.store() as uow:
        done = act(uow, found[0], follow_ups)
        outcome = "done" if done.done else ("wrong_fulfilment" if done.reason == "WRONG" else "refused")
        record_action(uow.connection, token_name=token.name, action=f"hold.{action}", target=found[0].key,
                      outcome=outcome, at=console.clock(), detail=f"{done.reason or ''} {done.info}".strip())
        uow.commit()
    if not done.done:
        raise HTTPException(422, f"refused {done.reason}: {done.info}")
    return {"ref": ref, "key": found[0].key, "state": str(done.state),
            "follow_ups": [{"message_id": m.message_id, "message_type": m.message_type} for m in done.emitted]}
