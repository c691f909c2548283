"""Held, value-dated and conditional payments: not available yet (they come with programmable
settlement). The routes exist so that the console and scripts get a clear answer, not a 404."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from adapters.http.access import operator, viewer
from adapters.sql.api_tokens import ApiToken

router = APIRouter(prefix="/api/holds", tags=["holds"], dependencies=[Depends(viewer)])
NOT_YET = ("holds are not available yet (they come with programmable settlement: value-dated "
           "and conditional payments); nothing was done")


@router.get("", status_code=501)
def holds() -> None:
    raise HTTPException(501, NOT_YET)


@router.post("/{ref}/release", status_code=501)
def release(ref: str, _token: ApiToken = Depends(operator)) -> None:
    raise HTTPException(501, NOT_YET)


@router.post("/{ref}/void", status_code=501)
def void(ref: str, _token: ApiToken = Depends(operator)) -> None:
    raise HTTPException(501, NOT_YET)
