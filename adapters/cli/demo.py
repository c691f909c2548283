"""`tokenbridge demo`: the main job on the embedded default, start to finish.

A fresh SQLite ledger, the sample registry, every sample pacs.008 replayed in order with its
pacs.002 written out, then balances and supply. No broker, no database server.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from adapters.cli.accounts import import_
from adapters.cli.ledger import balances, init
from adapters.cli.replay import replay


@click.command()
@click.option("--samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("samples"), show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tokenbridge-demo"), show_default=True,
              help="Holds the demo's SQLite ledger (recreated) and the replies.")
@click.pass_context
def demo(ctx: click.Context, samples: Path, workdir: Path) -> None:
    """Set up a fresh SQLite ledger, import samples/accounts.csv, replay samples/pacs008 and
    show each reply's status, the balances and the supply."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "ledger.db"
    for stale in workdir.glob("ledger.db*"):
        stale.unlink()
    os.environ["TOKENBRIDGE_DATABASE_URL"] = f"sqlite:///{database}"
    click.secho(f"1. a fresh ledger in {database}", bold=True)
    ctx.invoke(init)
    click.secho(f"2. the account registry from {samples / 'accounts.csv'}", bold=True)
    ctx.invoke(import_, csv_file=str(samples / "accounts.csv"))
    click.secho(f"3. replaying {samples / 'pacs008'} (replies in {workdir / 'replies'})", bold=True)
    try:
        ctx.invoke(replay, dry_run=False, out_dir=workdir / "replies",
                   paths=(str(samples / "pacs008"),))
    except SystemExit:
        pass  # the samples include rejects on purpose: the demo goes on to show the balances
    click.secho("4. balances and supply", bold=True)
    ctx.invoke(balances, as_json=False)
