"""`tokenbridge sweep [--now] [--dry-run] [--json]`: run the sweep rules (TOKENBRIDGE_SWEEPS)
once, as the worker's scheduler does; the run's `report.sweep` is queued for `tokenbridge.out`
(not with --dry-run, which applies nothing and shows what a run would do). Exit 0."""
from __future__ import annotations

import json

import click

from adapters.bootstrap import build_bus, sweep_context
from adapters.cli.common import ConfigurationInvalid, major, settings, store_or_exit
from adapters.config import load_sweeps
from bridge.sweeps.report import run_json, sweep_report
from bridge.sweeps.service import run_sweeps


@click.command()
@click.option("--now", "ahead", is_flag=True,
              help="Daily rules sweep today's period even before their time (`at`).")
@click.option("--dry-run", is_flag=True, help="Show what a run would do; apply and queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
def sweep(ahead: bool, dry_run: bool, as_json: bool) -> None:
    """Run the sweep rules: members to their targets against their headers."""
    current = settings()
    if not current.sweeps:
        raise ConfigurationInvalid("configuration: TOKENBRIDGE_SWEEPS names no sweeps file")
    rules = load_sweeps(current.sweeps)  # checked when the settings loaded
    with store_or_exit(current) as store:
        bus = build_bus(current, store)
        run = run_sweeps(store, rules, store.clock(), sweep_context(current, bus),
                         dry_run=dry_run, ahead=ahead)
        if not dry_run:
            with store() as uow:
                report = sweep_report(run)
                uow.outbox.add(report)
                uow.commit()
    if as_json:
        click.echo(json.dumps(run_json(run)))
        return
    for r in run.results:
        amount = f"{major(r.amount, r.currency):>14} {r.currency}" if r.amount is not None else " " * 18
        arrow = {"to_header": f"{r.member} -> {r.header}", "top_up": f"{r.header} -> {r.member}"}.get(
            r.direction or "", f"{r.member} / {r.header}")
        why = f"  {r.reason}: {r.info}" if r.reason else (f"  {r.info}" if r.info else "")
        click.echo(f"{r.result:<8} {r.rule:<20} {r.period or '-':<14} {amount}  {arrow}{why}")
    counts = ", ".join(f"{run.count(s)} {s}" for s in ("applied", "planned", "done", "refused") if run.count(s))
    click.echo(f"{len(run.results)} sweep(s){': ' + counts if counts else ''}"
               + ("" if dry_run else f"; report.sweep {report.message_id} queued for tokenbridge.out"))
