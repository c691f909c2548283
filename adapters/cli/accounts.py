"""`tokenbridge accounts import FILE.csv | list`."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict

import click

from adapters.cli.common import settings, store_or_exit
from bridge.accounts import RegistryError, parse_registry_rows

HEADER = ["account", "currency", "wallet", "status", "kind", "scheme", "issuer", "group"]


@click.group()
def accounts() -> None:
    """The account registry: which accounts are tokenized, on which wallet."""


@accounts.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def import_(csv_file: str) -> None:
    """Upsert the registry from CSV (account,currency,wallet,status,kind[,scheme,issuer,group]). All rows
    or none: a bad row (unknown currency, a reserved ledger name, ...) is named, none applied."""
    with open(csv_file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("account", "currency") if c not in (reader.fieldnames or [])]
        if missing:
            raise click.ClickException(f"{csv_file}: header lacks {', '.join(missing)}; "
                                       f"expected {','.join(HEADER[:5])} (optional: scheme,issuer,group)")
        rows = list(reader)
    try:
        parsed = parse_registry_rows(rows)
    except RegistryError as exc:
        for problem in exc.problems:
            click.echo(f"{csv_file}: {problem}", err=True)
        raise click.ClickException(f"{len(exc.problems)} bad row(s); nothing was imported") from None
    with store_or_exit(settings()) as store, store() as uow:
        written = uow.accounts.upsert(parsed)
        uow.commit()
    click.echo(f"imported {written} account(s) from {csv_file}")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Show the registry."""
    with store_or_exit(settings()) as store, store() as uow:
        rows = uow.accounts.all()
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows]))
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title="Account registry")
    for column in HEADER:
        table.add_column(column)
    for r in rows:
        table.add_row(r.account, r.currency, r.wallet or "", r.status, r.kind, r.scheme or "",
                      r.issuer or "", r.group or "")
    Console().print(table)
