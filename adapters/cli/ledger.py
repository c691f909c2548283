"""`tokenbridge ledger init | info` and `tokenbridge balances`."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from adapters.cli.common import ledger_or_exit, major, settings, store_or_exit
from adapters.config import Settings
from adapters.sql.engine import migrate, redacted
from adapters.sql.store import SqlStore
from bridge.ports import LedgerDescription, LedgerSetUp


@click.group()
def ledger() -> None:
    """Create, migrate and describe the ledger and the bridge's store."""


@ledger.command("init")
def init() -> None:
    """Create or migrate the store (Alembic); idempotent."""
    current = settings()
    with store_or_exit(current, require_schema=False) as store:
        revision = migrate(store.engine)
        prepared = _initialise_ledger(current, store)
    click.echo(f"store {redacted(current.database_url)} at revision {revision}; "
               f"ledger: {current.ledger}")
    for currency, address in sorted((prepared or {}).get("contracts", {}).items()):
        how = "deployed" if currency in prepared.get("deployed", ()) else "recorded"
        click.echo(f"{currency} token {address} ({how})")


def _initialise_ledger(current: Settings, store: SqlStore) -> Mapping[str, Any] | None:
    """Ledgers with their own set-up (EVM: deploy the token contracts none are configured for)."""
    if not isinstance(store.ledger_plugin, LedgerSetUp):
        return None
    try:
        return store.ledger_plugin.initialise(store)
    except Exception as exc:  # noqa: BLE001 - node unreachable, wrong chain, ...: exit 1, say why
        raise click.ClickException(f"ledger {current.ledger}: {exc}") from None


@ledger.command("info")
@click.option("--json", "as_json", is_flag=True)
def info(as_json: bool) -> None:
    """Which ledger and store the bridge uses."""
    current = settings()
    described = {"ledger": current.ledger, "store": redacted(current.database_url)}
    described.update(_describe_ledger(current))
    click.echo(json.dumps(described) if as_json else
               "\n".join(f"{k}: {v}" for k, v in described.items()))


def _describe_ledger(current: Settings) -> Mapping[str, Any]:
    """What a ledger adds to `ledger info` (EVM: {"contracts": {"EUR": "0x..."}, ...})."""
    from adapters.bootstrap import ConfigurationError, ledger_plugin
    from adapters.sql.engine import create_store_engine
    try:
        plugin = ledger_plugin(current)
    except ConfigurationError:
        return {}
    if not isinstance(plugin, LedgerDescription):
        return {}
    engine = create_store_engine(current.database_url)
    try:
        return plugin.describe(SqlStore(engine, plugin))
    finally:
        engine.dispose()


@click.command()
@click.option("--json", "as_json", is_flag=True)
def balances(as_json: bool) -> None:
    """Wallet balances and token supply per currency."""
    current = settings()
    with store_or_exit(current) as store, ledger_or_exit(current), store() as uow:
        wallets = uow.ledger.balances()
        supply = uow.ledger.supply()
    if as_json:
        click.echo(json.dumps({
            "wallets": [{"wallet": w.wallet, "currency": w.currency,
                         "balance": major(w.balance, w.currency)} for w in wallets],
            "supply": {ccy: major(units, ccy) for ccy, units in supply.items()}}))
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title="Wallet balances")
    for column in ("wallet", "currency", "balance"):
        table.add_column(column, justify="right" if column == "balance" else "left")
    for w in wallets:
        table.add_row(w.wallet, w.currency, major(w.balance, w.currency))
    console = Console()
    console.print(table)
    totals = Table(title="Token supply")
    totals.add_column("currency")
    totals.add_column("supply", justify="right")
    totals.add_column("sum of wallets", justify="right")
    for ccy, units in supply.items():
        held = sum(w.balance for w in wallets if w.currency == ccy)
        totals.add_row(ccy, major(units, ccy), major(held, ccy))
    console.print(totals)
