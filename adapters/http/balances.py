"""Balances and token supply per currency, now and over time (the console's chart)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from adapters.http.access import viewer
from adapters.http.context import ConsoleContext, context
from bridge.balance_history import MAX_POINTS, balance_history
from bridge.money import is_active_currency
from bridge.reconciliation.report import money

router = APIRouter(prefix="/api/balances", tags=["ledger"], dependencies=[Depends(viewer)])


@router.get("")
def balances(console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """Wallet balances and supply per currency (as `tokenbridge balances --json`)."""
    with console.store() as uow:
        wallets = uow.ledger.balances()
        supply = uow.ledger.supply()
    return {"ledger": console.ledger_name,
            "wallets": [{"wallet": w.wallet, "currency": w.currency,
                         "balance": money(w.balance, w.currency)} for w in wallets],
            "supply": {ccy: money(units, ccy) for ccy, units in supply.items()}}


@router.get("/history")
def history(currency: str = Query(..., min_length=3, max_length=3),
            points: int = Query(MAX_POINTS, ge=2, le=5000),
            console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """Each wallet's balance and the supply after every posting time, from the ledger journal."""
    currency = currency.upper()
    if not is_active_currency(currency):
        raise HTTPException(422, f"{currency} is not an ISO 4217 currency")
    with console.store() as uow:
        found = balance_history(currency, uow.ledger.journal(currency=currency), points)
    return {"currency": currency,
            "supply": [[t.isoformat(), money(v, currency)] for t, v in found.supply],
            "wallets": {w: [[t.isoformat(), money(v, currency)] for t, v in s]
                        for w, s in found.wallets.items()},
            "holds": None,
            "holds_note": "holds are not available yet (they come with programmable settlement)"}
