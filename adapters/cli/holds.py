"""`tokenbridge holds list/release/void`: held, value-dated and conditional payments (exit 0
done, 1 refused or not found or ambiguous, 2 usage).

REF is the payment's key, UETR, `MSGID/E2EID` or EndToEndId. A release or void commits with its
follow-up pacs.002 (queued for `tokenbridge.out`) and the operator's action (the audit chain,
`operator_actions`, token name `cli:<operator>`), all in one transaction.
"""
from __future__ import annotations

import getpass
import json

import click

from adapters.bootstrap import bridge_config
from adapters.cli.common import major, settings, store_or_exit
from adapters.sql.operator_actions import record_action
from bridge.holds import service
from bridge.holds.terms import Hold, HoldState
from bridge.holds.views import hold_json
from bridge.settlement.follow_ups import SettlementFollowUps


@click.group()
def holds() -> None:
    """Held, value-dated and conditional payments."""


@holds.command("list")
@click.option("--state", type=click.Choice([s.value for s in HoldState]), help="Only holds in this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(state: str | None, as_json: bool) -> None:
    """The holds, oldest first: what each reserves, until when, how it ended."""
    with store_or_exit(settings()) as store, store() as uow:
        found = uow.ledger.holds(HoldState(state) if state else None)
    for held in found:
        if as_json:
            click.echo(json.dumps(hold_json(held)))
        else:
            op = held.operation
            click.echo(f"{held.state:<8} {held.terms.kind:<11} {major(op.amount, op.currency):>14} {op.currency} "
                       f"{op.debit_wallet or '-'} -> {op.credit_wallet or '-'}  until "
                       f"{held.terms.expiry.isoformat()}  {op.refs.message_id}/{op.refs.end_to_end_id}"
                       + (f"  ({held.end_reason}, {held.ended_by})" if held.ended_by else ""))


@holds.command()
@click.argument("ref")
@click.option("--fulfilment", metavar="HEX", help="The preimage of the payment's SHA-256 hashlock, in hex.")
@click.option("--reason", metavar="TEXT", help="An operator's release without the fulfilment: why (audited).")
@click.option("--operator", default=None, help="Who releases (default: the login name).")
def release(ref: str, fulfilment: str | None, reason: str | None, operator: str | None) -> None:
    """Execute a held payment now: with its condition's fulfilment, or by an operator's decision."""
    if (fulfilment is None) == (reason is None):
        raise click.UsageError("give either --fulfilment HEX or --reason TEXT")
    who = operator or getpass.getuser()
    _act("release", ref, who, lambda uow, held, now, follow_ups: service.release(
        uow, held, now=now, follow_ups=follow_ups, fulfilment=fulfilment,
        operator=None if fulfilment else who, reason=reason))


@holds.command()
@click.argument("ref")
@click.option("--reason", required=True, metavar="TEXT", help="Why (audited; the follow-up's information).")
@click.option("--code", default="MS03", show_default=True, metavar="CODE",
              help="The ISO status reason of the RJCT follow-up.")
@click.option("--operator", default=None, help="Who voids (default: the login name).")
def void(ref: str, reason: str, code: str, operator: str | None) -> None:
    """Void a held payment: nothing of it is applied; its sender gets a RJCT follow-up."""
    who = operator or getpass.getuser()
    _act("void", ref, who, lambda uow, held, now, follow_ups: service.void(
        uow, held, now=now, follow_ups=follow_ups, operator=who, reason=reason, code=code.upper()))


def _act(action: str, ref: str, who: str, act) -> None:
    current = settings()
    config = bridge_config(current)
    with store_or_exit(current) as store:
        with store() as uow:
            found = service.holds_named(ref, uow)
        if len(found) != 1:
            _not_one(ref, found)
        follow_ups = SettlementFollowUps(config.reader(), config, store.clock)
        with store() as uow:
            done = act(uow, found[0], store.clock(), follow_ups)
            outcome = "done" if done.done else ("wrong_fulfilment" if done.reason == "WRONG" else "refused")
            record_action(uow.connection, token_name=f"cli:{who}"[:64], action=f"hold.{action}",
                          target=found[0].key, outcome=outcome, at=store.clock(),
                          detail=f"{done.reason or ''} {done.info}".strip())
            uow.commit()
    if done.done:
        sent = ", ".join(m.message_id for m in done.emitted) or "none (no pacs.008 to answer)"
        click.echo(f"{found[0].key}: {done.state}; follow-up pacs.002 {sent} queued for tokenbridge.out")
        raise SystemExit(0)
    click.echo(f"refused {done.reason}: {done.info}", err=True)
    raise SystemExit(1)


def _not_one(ref: str, found: list[Hold]) -> None:
    if found:
        click.echo(f"{ref} names {len(found)} holds; name one by its key:", err=True)
        for held in found:
            click.echo(f"  {held.key}  {held.state}", err=True)
    else:
        click.echo(f"no hold found for {ref} (as key, UETR, MSGID/E2EID or EndToEndId)", err=True)
    raise SystemExit(1)
