"""`tokenbridge demo`: the main job on the embedded default, start to finish.

A fresh SQLite ledger, the sample registry, every sample pacs.008 replayed in order with its
pacs.002 written out, then balances and supply; then the corporates' stories (samples/corporates:
pain.001 in, pain.002 and the outgoing pacs.008 fiat legs out) and the balances again; then the
same corporates across currencies (samples/corporates-fx: the bank's FX positions, payment versus
payment under the sample rate table) and the balances, FX positions and supply. No broker, no
database server.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from adapters.cli.accounts import import_
from adapters.cli.ledger import balances, init
from adapters.cli.replay import replay

CORPORATE_SETTINGS = {"TOKENBRIDGE_ISSUER_BIC": "TOKNDEFFXXX",
                      "TOKENBRIDGE_CORPORATE_SENDERS": "NORTHWIND-TRADING,HELIX-GROUP-TREASURY"}
"""What the corporates' stories (samples/corporates) run with: Tokenbank's BIC, the two channels."""

FX_STORIES = "corporates-fx"
FX_RATES = Path("fx") / "rates.csv"
"""The stories across currencies and the rate table they are priced with (`TOKENBRIDGE_RATES`),
both under the samples directory."""


@click.command()
@click.option("--samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("samples"), show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tokenbridge-demo"), show_default=True,
              help="Holds the demo's SQLite ledger (recreated) and the replies.")
@click.pass_context
def demo(ctx: click.Context, samples: Path, workdir: Path) -> None:
    """Set up a fresh SQLite ledger, import samples/accounts.csv, replay samples/pacs008 and
    show each reply's status, the balances and the supply; then the corporates' stories
    (samples/corporates) and the balances again; then their payments across currencies
    (samples/corporates-fx, PvP) with the FX positions."""
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
    stories = samples / "corporates"
    if not stories.is_dir():
        return
    # The corporates' channels and the bank's BIC (their fiat legs name it), for this part only;
    # an operator's own settings win.
    with _settings(CORPORATE_SETTINGS):
        _corporates(ctx, stories, workdir)
        across = samples / FX_STORIES
        if across.is_dir():
            with _settings({"TOKENBRIDGE_RATES": str(samples / FX_RATES)}):
                _across_currencies(ctx, across, workdir)


@contextmanager
def _settings(settings: dict[str, str]) -> Iterator[None]:
    """`settings` in the environment for the block, an operator's own values winning; restored after."""
    before = {name: os.environ.get(name) for name in settings}
    for name, value in settings.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)


def _corporates(ctx: click.Context, stories: Path, workdir: Path) -> None:
    click.secho(f"5. the corporates' stories, {stories}: a marketplace buyer pays its supplier and "
                f"its freight forwarder elsewhere (an outgoing pacs.008); a group treasury moves EUR, "
                f"USD and SGD between its subsidiaries; a buyer may not debit its supplier", bold=True)
    try:
        ctx.invoke(replay, dry_run=False, out_dir=workdir / "replies", paths=(str(stories),))
    except SystemExit:
        pass  # the last story is refused on purpose
    click.secho("6. balances and supply", bold=True)
    ctx.invoke(balances, as_json=False)


def _across_currencies(ctx: click.Context, stories: Path, workdir: Path) -> None:
    click.secho(f"7. across currencies, {stories}: the bank funds its EUR, USD and SGD FX positions; "
                f"Northwind's dollars pay Lumen's euro wallet (PvP) and a supplier at Commerzbank in "
                f"euros (the EUR position burns, a pacs.008 leaves); Helix moves EUR, USD and SGD "
                f"between its subsidiaries (PvP)", bold=True)
    ctx.invoke(import_, csv_file=str(stories / "accounts.csv"))
    try:
        ctx.invoke(replay, dry_run=False, out_dir=workdir / "replies", paths=(str(stories),))
    except SystemExit:
        pass  # replay always exits; its summary says what was refused, the balances follow
    click.secho("8. balances, FX positions and supply (PvP mints nothing: only the funding and the "
                "burn moved supply)", bold=True)
    ctx.invoke(balances, as_json=False)
