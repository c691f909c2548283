"""`tokenbridge settle [--wait] [--timeout S]`: settlement rounds without a worker, on a ledger
whose operations become final after the answer (EVM: answered ACSP, settled on chain later).

A round submits what is planned and follows what is submitted; each operation that became final
gets its follow-up pacs.002 (ACSC, or RJCT with the chain's reason) queued in the outbox, and
one that settled its camt.054 notifications, in the same transaction, exactly as the worker does (`adapters/bootstrap.settlement_round`). A
running worker publishes them at its next outbox sweep. On a ledger whose answer is final (SQL)
there is nothing to settle.
"""
from __future__ import annotations

import time

import click

from adapters.bootstrap import build_bus, settlement_round
from adapters.cli.common import ledger_or_exit, settings, store_or_exit
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.messages import OutboundMessage
from bridge.ports import SettlingLedger

PAUSE_S = 0.5
"""Between rounds while waiting, when a round settled nothing: a dev chain's block time."""


@click.command()
@click.option("--wait", is_flag=True, help="Run rounds until nothing is in flight.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="With --wait: stop after this many seconds (exit 1 if still in flight).")
def settle(wait: bool, timeout_s: float) -> None:
    """Run settlement rounds on the ledger (EVM); each payment that became final gets its
    follow-up pacs.002 in the outbox."""
    current = settings()
    with store_or_exit(current) as store, ledger_or_exit(current):
        if not isinstance(store.ledger_plugin, SettlingLedger):
            click.echo(f"ledger {current.ledger}: nothing to settle (its answer is final)")
            return
        settlement = store.ledger_plugin.settler(store)
        one_round = settlement_round(store, build_bus(current, store))
        deadline = time.monotonic() + timeout_s
        follow_ups: list[OutboundMessage] = one_round()
        in_flight = settlement.pending()
        while wait and in_flight and time.monotonic() < deadline:
            settled = one_round()
            if not settled:
                time.sleep(PAUSE_S)  # the chain has not moved yet
            follow_ups += settled
            in_flight = settlement.pending()
    notices = [m for m in follow_ups if m.message_type.startswith(NOTIFICATION.family)]
    for message in follow_ups:
        click.echo(f"{message.message_type} {message.message_id} "
                   f"{'notifying' if message in notices else 'answering'} {message.correlation_id or '-'}")
    click.echo(f"{len(follow_ups) - len(notices)} follow-up(s) queued in the outbox; "
               f"{in_flight} operation(s) in flight")
    if notices:
        click.echo(f"{len(notices)} notification(s) ({NOTIFICATION.family}) of what became final queued too")
    if wait and in_flight:
        raise click.ClickException(f"{in_flight} operation(s) still in flight after {timeout_s:g} s")
