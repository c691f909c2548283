"""`tokenbridge serve` (the HTTP API and operations console) and `tokenbridge tokens
create|list|revoke` (its API tokens, each with a role)."""
from __future__ import annotations

import json

import click

from adapters.cli.common import settings, store_or_exit
from adapters.sql.api_tokens import Role, TokenRefused, create_token, list_tokens, revoke_token


@click.command()
@click.option("--log-level", "server_log_level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True, help="uvicorn's log level (requests are logged at info).")
def serve(server_log_level: str) -> None:
    """Serve the JSON API (OpenAPI at /openapi.json) and the operations console at
    TOKENBRIDGE_HTTP_ADDR (default 127.0.0.1:8080) until SIGTERM/SIGINT. Every API request
    needs `Authorization: Bearer <token>` (`tokenbridge tokens create`)."""
    from adapters.bootstrap import console_context
    from adapters.http.server import serve as run
    current = settings()
    with store_or_exit(current) as store:
        click.echo(f"operations console on http://{current.http_addr}/ (API: /api, OpenAPI: "
                   f"/openapi.json)", err=True)
        run(current, console_context(current, store), server_log_level)


@click.group()
def tokens() -> None:
    """API tokens for `tokenbridge serve`: viewers read, operators also act (re-drive, ...)."""


@tokens.command("create")
@click.option("--name", required=True, help="Who holds it; named in the audit trail. Never reused.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def tokens_create(name: str, role: str) -> None:
    """Create a token and print its secret, once: only its SHA-256 is stored."""
    current = settings()
    with store_or_exit(current) as store, store.transaction() as transaction:
        try:
            secret = create_token(transaction.connection, name, Role(role), store.clock())
        except TokenRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"token {name} ({role}) created; its secret, shown this once:", err=True)
    click.echo(secret)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def tokens_list(as_json: bool) -> None:
    """Every token: name, role, created, revoked (never a secret)."""
    with store_or_exit(settings()) as store, store.engine.connect() as connection:
        found = list_tokens(connection)
    if as_json:
        click.echo(json.dumps([{"name": t.name, "role": str(t.role),
                                "created_at": t.created_at.isoformat(),
                                "revoked_at": t.revoked_at and t.revoked_at.isoformat()}
                               for t in found]))
        return
    for t in found:
        state = f"revoked {t.revoked_at.isoformat()}" if t.revoked_at else "active"
        click.echo(f"{t.name}  {t.role}  created {t.created_at.isoformat()}  {state}")
    click.echo(f"{len(found)} token(s)")


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke a token: refused from the next request on; its name stays in the audit trail."""
    current = settings()
    with store_or_exit(current) as store, store.transaction() as transaction:
        try:
            token = revoke_token(transaction.connection, name, store.clock())
        except TokenRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"token {token.name} revoked at {token.revoked_at.isoformat()}")
