"""`tokenbridge statement (--account ID | --supply CCY) --from DATE --to DATE [--version V]
[--out FILE] [--outbox]`: a camt.053 from the ledger journal.

Days are UTC and inclusive: `--from 2026-11-24 --to 2026-11-24` is [24th 00:00Z, 25th 00:00Z).
The statement is checked against its official XSD before it is written. With `--outbox` it is
also queued in the outbox, in the same transaction as nothing else: a running worker publishes
it on `tokenbridge.out` with routing key = its message type (`camt.053.001.08`). That is how the
worker emits end-of-day statements: a scheduler runs this command after midnight for each
currency (and wallet) it wants, and the workers relay it with publisher confirms.
"""
from __future__ import annotations

import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import click

from adapters.cli.common import settings, store_or_exit
from bridge.iso.camt053_writer import DEFAULT_VERSION, statement_version, write_statement_message
from bridge.iso.reader import MessageReader
from bridge.messages import OutboundMessage, new_message_id
from bridge.money import CurrencyError, minor_units
from bridge.statements_out.service import UnknownAccount, ledger_statement, statement_subject


def _currency(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--supply names an ISO 4217 currency with minor units (what a token can be in): exit 2."""
    if value is None:
        return None
    try:
        minor_units(value.upper())
    except CurrencyError as exc:
        raise click.BadParameter(str(exc)) from None
    return value.upper()


def _day(value: datetime) -> datetime:
    return datetime.combine(value.date(), time(0), tzinfo=timezone.utc)


@click.command()
@click.option("--account", "account", metavar="ID",
              help="A registered account (IBAN or other id): its wallet's statement; an omnibus "
                   "account gives the supply statement of its currency.")
@click.option("--supply", "currency", metavar="CCY", callback=_currency,
              help="The token supply of a currency (ISO 4217; one the registry has accounts in).")
@click.option("--from", "first_day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day (UTC), YYYY-MM-DD.")
@click.option("--to", "last_day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day (UTC), YYYY-MM-DD, included.")
@click.option("--version", "version", default=DEFAULT_VERSION, show_default=True,
              help="camt.053 version: 02 to 14 (or camt.053.001.NN).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
@click.option("--outbox", is_flag=True,
              help="Also queue it for the worker to publish on tokenbridge.out.")
def statement(account: str | None, currency: str | None, first_day: datetime, last_day: datetime,
              version: str, out_file: Path | None, outbox: bool) -> None:
    """Write a camt.053 statement of a wallet, or of the token supply of a currency, from the
    ledger journal: OPBD and CLBD, one entry per posting."""
    if (account is None) == (currency is None):
        raise click.UsageError("name exactly one of --account ID or --supply CCY")
    if last_day < first_day:
        raise click.UsageError("--to is before --from")
    try:
        version = statement_version(version)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    start, end = _day(first_day), _day(last_day) + timedelta(days=1)
    current = settings()
    with store_or_exit(current) as store, store() as uow:
        try:
            subject = statement_subject(uow.accounts, account=account, currency=currency)
        except UnknownAccount as exc:
            raise click.ClickException(str(exc)) from None
        message = ledger_statement(uow, subject, start=start, end=end,
                                   message_id=new_message_id(), created_at=store.clock(),
                                   servicer_bic=current.issuer_bic)
        body = write_statement_message(message, version)
        check = MessageReader(max_bytes=max(current.max_message_bytes, len(body) + 1)).read(body)
        if not check.valid:  # never send a statement the bank's systems would refuse
            raise click.ClickException(f"the statement written is not valid {version}: {check.findings[0]}")
        if outbox:
            uow.outbox.add(OutboundMessage(message.message_id, None, version, body))
            uow.commit()
    if out_file is not None:
        out_file.write_bytes(body)
        click.echo(f"{version} {message.statements[0].statement_id}: "
                   f"{len(message.statements[0].entries)} entries -> {out_file}"
                   + ("; queued for tokenbridge.out" if outbox else ""), err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
