"""Who may call the API: every request carries `Authorization: Bearer <token>`; viewers read,
operators also act. A missing, unknown or revoked token is 401, a viewer acting 403; each
refusal is logged (never the secret) and nothing is done."""
from __future__ import annotations

import structlog
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.http.context import ConsoleContext, context
from adapters.sql.api_tokens import ApiToken, Role, token_for_secret

log = structlog.get_logger("tokenbridge.http")

bearer = HTTPBearer(auto_error=False, description="an API token from `tokenbridge tokens create`")


def _refuse(request: Request, status: int, reason: str, token: ApiToken | None = None) -> HTTPException:
    log.warning("api request refused", status=status, reason=reason,
                token=token.name if token else None, method=request.method, path=request.url.path,
                client=request.client.host if request.client else None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, reason, headers=headers)


def viewer(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
           console: ConsoleContext = Depends(context)) -> ApiToken:
    """The caller's token, any role."""
    if credentials is None or not credentials.credentials:
        raise _refuse(request, 401, "an API token is needed (Authorization: Bearer <token>)")
    with console.store.engine.connect() as connection:
        token = token_for_secret(connection, credentials.credentials)
    if token is None:
        raise _refuse(request, 401, "unknown API token")
    if not token.active:
        raise _refuse(request, 401, "this API token was revoked", token)
    return token


def operator(request: Request, token: ApiToken = Depends(viewer)) -> ApiToken:
    """The caller's token, if it may act."""
    if token.role != Role.OPERATOR:
        raise _refuse(request, 403, "this action needs an operator token; this one is a viewer's",
                      token)
    return token
