"""`tokenbridge return REF --reason CODE [--amount A] [--out FILE] [--json]`: return a settled
payment the bridge received (exit 0 returned, 1 refused or not found or ambiguous, 2 usage).

REF is a UETR, `MSGID/E2EID` or an EndToEndId (bridge.returns.reference). The reversal and the
pacs.004 (in the original's version family, TOKENBRIDGE_RETURN_VERSIONS) are committed in one
transaction with the pacs.004 queued in the outbox: a running worker publishes it on
`tokenbridge.out` with its message type as routing key. The return is recorded, who asked
included (origin `operator`), and chained in the audit trail.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from adapters.bootstrap import bridge_config
from adapters.cli.common import major, settings, store_or_exit
from bridge.iso.reader import MessageReader
from bridge.money import Amount, CurrencyError
from bridge.payments.originals import Original
from bridge.returns.reference import originals_named
from bridge.returns.return_message import ReturnReason
from bridge.notifications.notices import configured, notified
from bridge.returns.service import ReturnOutcome, return_payment

_REASON = re.compile(r"[A-Z0-9]{1,4}")


@click.command("return")
@click.argument("ref")
@click.option("--reason", "reason", required=True, metavar="CODE",
              help="ExternalReturnReason1Code: AC04 closed account, MD06 refund request, CUST "
                   "requested by customer, DUPL duplicate payment, FOCR following a cancellation, ...")
@click.option("--amount", "amount", metavar="A",
              help="In the payment's currency, major units (12.50). Default: all that is left.")
@click.option("--info", "info", metavar="TEXT", help="Additional information for the pacs.004 (105 characters).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the pacs.004 here.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see the README).")
def return_(ref: str, reason: str, amount: str | None, info: str | None, out_file: Path | None,
            as_json: bool) -> None:
    """Return (part of) a settled payment: reverse it on the ledger (a mint is burnt, a transfer
    goes back, a burn is minted back) and send its pacs.004."""
    if not ref.strip():
        raise click.UsageError("REF is empty")
    code = reason.strip().upper()
    if not _REASON.fullmatch(code):
        raise click.UsageError(f"--reason {reason!r} is not an ISO return reason code (1-4 letters or digits)")
    current = settings()
    config = bridge_config(current)
    reader = MessageReader(max_bytes=current.max_message_bytes)
    with store_or_exit(current) as store, store() as uow:
        found = originals_named(ref, uow, reader)
        if len(found) != 1:
            _not_one(ref, found, as_json)
        original = found[0]
        units = _units(amount, original.recorded.operation.currency) if amount is not None else None
        with notified(uow, configured(config, store.clock), store.clock):  # the reversal's camt.054s
            outcome = return_payment(uow, original, reason=ReturnReason(code, info=info), config=config,
                                     now=store.clock(), amount=units)
        if not outcome.refused:
            uow.commit()
    if outcome.message is not None and out_file is not None:
        out_file.write_bytes(outcome.message.body)
    _report(ref, original, outcome, as_json)
    raise SystemExit(1 if outcome.refused else 0)


def _units(amount: str, currency: str) -> int:
    try:
        units = Amount(Decimal(amount.strip()), currency).to_minor()
    except (InvalidOperation, CurrencyError) as exc:
        raise click.UsageError(f"--amount {amount!r} is not an amount in {currency}: {exc}") from None
    if units <= 0:
        raise click.UsageError("--amount must be positive")
    return units


def _not_one(ref: str, found: list[Original], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ref": ref, "returned": False,
                               "reason": "ambiguous" if found else "not found",
                               "candidates": [_candidate(o) for o in found]}))
    elif found:
        click.echo(f"{ref} names {len(found)} settled payments; name one by UETR or MSGID/E2EID:", err=True)
        for o in found:
            c = _candidate(o)
            click.echo(f"  {c['message_id']}/{c['end_to_end_id']}  UETR {c['uetr'] or '-'}  "
                       f"{c['kind']} {c['amount']} {c['currency']}", err=True)
    else:
        click.echo(f"no settled payment found for {ref} (as UETR, MSGID/E2EID or EndToEndId)", err=True)
    raise SystemExit(1)


def _candidate(o: Original) -> dict[str, object]:
    op = o.recorded.operation
    return {"message_id": o.message.group_header.message_id, "end_to_end_id": o.transaction.end_to_end_id,
            "uetr": o.transaction.uetr, "key": op.key, "kind": op.kind,
            "amount": major(op.amount, op.currency), "currency": op.currency}


def _report(ref: str, original: Original, outcome: ReturnOutcome, as_json: bool) -> None:
    paid = original.recorded.operation
    op = outcome.operation
    if as_json:
        click.echo(json.dumps({
            "ref": ref, "returned": not outcome.refused, "status": str(outcome.status),
            "reason": None if outcome.reason is None else str(outcome.reason), "info": outcome.info,
            "original": _candidate(original),
            "amount": major(op.amount, op.currency) if op is not None else None,
            "returned_total": major(outcome.returned, paid.currency),
            "fully_returned": outcome.fully_returned,
            "operation": None if op is None else {"key": op.key, "kind": op.kind, "debit_wallet": op.debit_wallet,
                                                  "credit_wallet": op.credit_wallet},
            "message": None if outcome.message is None else {
                "message_id": outcome.message.message_id, "message_type": outcome.message.message_type}}))
    elif outcome.refused:
        click.echo(f"refused {outcome.reason}: {outcome.info}", err=True)
    else:
        click.echo(f"returned {major(op.amount, op.currency)} {op.currency} of {ref} ({op.kind}; "
                   f"{major(outcome.returned, paid.currency)} of {major(paid.amount, paid.currency)} returned): "
                   f"{outcome.message.message_type} {outcome.message.message_id} queued for tokenbridge.out")
