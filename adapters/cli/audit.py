"""`tokenbridge audit verify`: check the audit trail has not been edited (0 intact, 1 tampered)."""
from __future__ import annotations

import click

from adapters.cli.common import settings, store_or_exit
from adapters.sql import audit as sql_audit


@click.group()
def audit() -> None:
    """The hash-chained audit trail of inbox records and ledger operations."""


@audit.command("verify")
def verify() -> None:
    """Re-hash every inbox record and ledger operation and walk the chain; name the first
    broken link."""
    with store_or_exit(settings()) as store, store.engine.connect() as connection:
        length, breaks = sql_audit.verify(connection)
    if not breaks:
        click.echo(f"audit trail intact: {length} links")
        return
    click.echo(f"audit trail TAMPERED: {len(breaks)} problem(s); the first broken link:", err=True)
    click.echo(f"  {breaks[0]}", err=True)
    for more in breaks[1:10]:
        click.echo(f"  then {more}", err=True)
    raise SystemExit(1)
