"""API tokens of `tokenbridge serve`: who may read (viewer) and who may act (operator).

A token is a random secret shown once when it is created; the store keeps only its SHA-256
(a high-entropy secret needs no slow hash: nothing to guess), its name and its role. A revoked
token stays in the table, so its name keeps meaning one token in the audit trail.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, select, update

from adapters.sql.ledger import as_utc, utc_naive
from adapters.sql.tables import api_tokens

SECRET_PREFIX = "tbk_"
"""Marks a bridge API token in logs and secret scanners."""
SECRET_BYTES = 32
"""256 bits of randomness: the SHA-256 of the secret is enough to keep it."""
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


class Role(StrEnum):
    """What a token may do: viewers read everything, operators also act (re-drive, ...)."""

    VIEWER = "viewer"
    OPERATOR = "operator"


class TokenRefused(ValueError):
    """A token that cannot be created or revoked as asked (bad name, taken, unknown)."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as the store keeps it: never its secret."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(connection: Connection, name: str, role: Role, now: datetime) -> str:
    """Store a new token; returns its secret (the only time it exists outside the caller)."""
    if not _NAME.fullmatch(name):
        raise TokenRefused(f"token name {name!r}: 1 to 64 letters, digits or . _ @ -")
    if connection.execute(select(api_tokens.c.name).where(api_tokens.c.name == name)).first():
        raise TokenRefused(f"a token named {name!r} exists already (names are never reused)")
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    connection.execute(api_tokens.insert().values(
        name=name, role=Role(role).value, secret_sha256=secret_digest(secret),
        created_at=utc_naive(now)))
    return secret


def list_tokens(connection: Connection) -> list[ApiToken]:
    return [_token(r) for r in connection.execute(select(api_tokens).order_by(api_tokens.c.name))]


def revoke_token(connection: Connection, name: str, now: datetime) -> ApiToken:
    """Revoke the token `name` (revoking it again changes nothing)."""
    row = connection.execute(select(api_tokens).where(api_tokens.c.name == name)).first()
    if row is None:
        raise TokenRefused(f"no token named {name!r}")
    if row.revoked_at is None:
        connection.execute(update(api_tokens).where(api_tokens.c.name == name)
                           .values(revoked_at=utc_naive(now)))
    return _token(connection.execute(select(api_tokens).where(api_tokens.c.name == name)).one())


def token_for_secret(connection: Connection, secret: str) -> ApiToken | None:
    """The token a presented secret belongs to (revoked ones included: the caller says why it
    refuses), or None."""
    row = connection.execute(select(api_tokens).where(
        api_tokens.c.secret_sha256 == secret_digest(secret))).first()
    return None if row is None else _token(row)


def _token(row) -> ApiToken:
    return ApiToken(row.name, Role(row.role), as_utc(row.created_at),
                    None if row.revoked_at is None else as_utc(row.revoked_at))
