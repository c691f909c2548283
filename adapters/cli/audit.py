"""`tokenbridge audit verify`: check the audit trail has not been edited (0 intact, 1 tampered)."""
from __future__ import annotations

import json

import click

from adapters.cli.common import settings, store_or_exit
from adapters.evm.lost import lost_operations
from adapters.sql import audit as sql_audit


@click.group()
def audit() -> None:
    """The hash-chained audit trail of inbox records, ledger operations and their postings."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: intact, links, findings.")
def verify(as_json: bool) -> None:
    """Re-hash every inbox record, ledger operation and operation's postings, walk the chain,
    and recompute every balance and supply from the postings; one line per finding, naming
    the table and the row. EVM operations answered ACSC that a deep reorg took off the chain
    (not found again yet) are listed too (stderr; JSON `lost_from_chain`): not tampering, the
    exit code is the trail's."""
    with store_or_exit(settings()) as store, store.engine.connect() as connection:
        length, findings = sql_audit.verify(connection)
        lost = lost_operations(connection)
    if as_json:
        click.echo(json.dumps({"intact": not findings, "links": length,
                               "findings": [f.as_json() for f in findings],
                               "lost_from_chain": {k: f"{v.isoformat()}Z" for k, v in lost.items()}}))
    else:
        # Not tampering (the trail is the bridge's word): the chain no longer holds what it answered.
        for key, at in lost.items():
            click.echo(f"LOST from the chain: EVM operation {key}, answered ACSC, no longer on the "
                       f"canonical chain since {at.isoformat()}Z (a reorg deeper than the "
                       "confirmations)", err=True)
        if not findings:
            click.echo(f"audit trail intact: {length} links; balances and supply match the postings")
        else:
            click.echo(f"audit trail TAMPERED: {len(findings)} finding(s):", err=True)
            for finding in findings:
                click.echo(f"  {finding}", err=True)
    if findings:
        raise SystemExit(1)
