"""`tokenbridge status REF`: a payment's lifecycle by UETR, EndToEndId or MsgId (0 found, 1 not)."""
from __future__ import annotations

import json
from datetime import datetime

import click
from sqlalchemy import Connection

from adapters.cli.common import major, settings, store_or_exit
from bridge.iso.reader import MessageReader
from bridge.status_requests.lifecycle import MessageLifecycle, lifecycle
from bridge.status_requests.timeline import code_text, message_json


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"ref", "found", "messages": [...]} (see the README).')
def status(ref: str, as_json: bool) -> None:
    """A payment's lifecycle: the message it came in, each transaction's ledger operation and
    current status (as a pacs.028 would be answered), the replies sent, the statement mints
    that claimed it and its returns. REF is a UETR, an EndToEndId or a MsgId (all its
    transactions)."""
    if not ref.strip():
        raise click.UsageError("REF is empty")
    current = settings()
    reader = MessageReader(max_bytes=current.max_message_bytes)
    with store_or_exit(current) as store, store() as uow:
        messages = lifecycle(ref, uow, reader)
    with store.engine.connect() as connection:
        lost = _lost(connection, messages)
    if as_json:
        shown = {"ref": ref, "found": bool(messages), "messages": [message_json(m) for m in messages]}
        if lost:  # only then: the key's absence says nothing was lost
            shown["lost_from_chain"] = {k: f"{v.isoformat()}Z" for k, v in lost.items()}
        click.echo(json.dumps(shown))
    elif messages:
        _print(messages, lost)
    else:
        click.echo(f"no payment found for {ref} (as UETR, EndToEndId or MsgId)", err=True)
    if not messages:
        raise SystemExit(1)


def _lost(connection: Connection, messages: list[MessageLifecycle]) -> dict[str, datetime]:
    """The EVM operations of these messages answered ACSC and since taken off the chain by a
    reorg deeper than the confirmations (adapters.evm.settlement.reorg), by key."""
    from adapters.evm.lost import lost_operations
    keys = {t.operation.operation.key for m in messages for t in m.transactions if t.operation}
    return {k: at for k, at in lost_operations(connection).items() if k in keys}


def _print(messages: list[MessageLifecycle], lost: dict[str, datetime]) -> None:
    from rich.console import Console
    from rich.table import Table
    console = Console()
    for m in messages:
        replies = ", ".join(f"{r.message_type} {r.message_id}"
                            f" ({'published' if r.published else 'in outbox'})" for r in m.replies)
        console.print(f"[bold]{m.message_type or '?'} {m.message_id or '?'}[/bold] received "
                      f"{m.received_at.isoformat()} from {m.sender or '?'}: {m.verdict} ({m.summary})")
        console.print(f"  replies: {replies or 'none'}")
        if not m.transactions:
            continue
        for t in m.transactions:  # one two-column table each: readable on a narrow terminal
            op = t.operation.operation if t.operation else None
            table = Table(title=f"transaction {t.index}", show_header=False)
            table.add_column("field")
            table.add_column("value", overflow="fold")
            reason = " ".join(x for x in (code_text(t.current.reason), t.current.info) if x)
            rows = [("EndToEndId", t.end_to_end_id), ("UETR", t.uetr or ""),
                    ("amount", f"{t.amount} {t.currency}"),
                    ("status", f"{t.current.status} {reason}".strip())]
            if op is not None and t.operation is not None:
                rows += [("operation", f"{op.kind} {major(op.amount, op.currency)} {op.currency}"
                                       f" ({t.operation.status})"),
                         ("wallets", f"{op.debit_wallet or '-'} -> {op.credit_wallet or '-'}"),
                         ("key", op.key)]
                if op.key in lost:
                    rows += [("LOST", f"answered ACSC, no longer on the canonical chain since "
                                      f"{lost[op.key].isoformat()}Z (a reorg deeper than the "
                                      "confirmations): alerted; re-applied or flagged by policy")]
            if t.fx_leg is not None:
                leg = t.fx_leg.operation
                rows += [("FX leg", f"{leg.kind} {major(leg.amount, leg.currency)} {leg.currency} "
                                    f"{leg.debit_wallet} -> {leg.credit_wallet} ({t.fx_leg.status})")]
            if t.underlying:
                rows += [("underlying", t.underlying)]
            rows += [("claimed by", f"{c.road} {c.reference} -> {c.operation_key}") for c in t.claims]
            rows += [("returned", f"{major(r.amount, r.currency)} {r.currency} {r.reason} by {r.origin}"
                                  f" ({r.message_id or '-'})") for r in t.returns]
            for row in rows:
                table.add_row(*row)
            console.print(table)
