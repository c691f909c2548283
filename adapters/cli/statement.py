"""`tokenbridge statement (--account ID | --supply CCY) (--from DATE --to DATE | --intraday)
[--version V] [--out FILE] [--outbox]`: a camt.053 from the ledger journal, or with
`--intraday` a camt.052 intraday account report.

Days are UTC and inclusive: `--from 2026-11-24 --to 2026-11-24` is [24th 00:00Z, 25th 00:00Z).
`--intraday` reports from the start of today in TOKENBRIDGE_TIMEZONE (default UTC) to now: the
opening balance (OPBD), the interim booked balance now (ITBD), and the entries so far.
The message is checked against its official XSD before it is written. With `--outbox` it is
also queued in the outbox, in the same transaction as nothing else: a running worker publishes
it on `tokenbridge.out` with routing key = its message type (`camt.053.001.08`). That is how the
worker emits end-of-day statements: a scheduler runs this command after midnight for each
currency (and wallet) it wants, and the workers relay it with publisher confirms.
"""
from __future__ import annotations

import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from adapters.cli.common import settings, store_or_exit
from bridge.iso.bank_to_customer import ACCOUNT_REPORT, STATEMENT
from bridge.iso.reader import MessageReader
from bridge.messages import OutboundMessage, new_message_id
from bridge.money import CurrencyError, minor_units
from bridge.statements_out.service import UnknownAccount, intraday, ledger_statement, statement_subject


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
@click.option("--from", "first_day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day (UTC), YYYY-MM-DD.")
@click.option("--to", "last_day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day (UTC), YYYY-MM-DD, included.")
@click.option("--intraday", "intraday_report", is_flag=True,
              help="A camt.052 intraday report instead: from the start of today in "
                   "TOKENBRIDGE_TIMEZONE to now.")
@click.option("--version", "version", metavar="V",
              help=f"camt.053 version: 02 to 14 (default {STATEMENT.default_version}); with "
                   f"--intraday camt.052: 01 to 14 (default {ACCOUNT_REPORT.default_version}).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
@click.option("--outbox", is_flag=True,
              help="Also queue it for the worker to publish on tokenbridge.out.")
def statement(account: str | None, currency: str | None, first_day: datetime | None,
              last_day: datetime | None, intraday_report: bool, version: str | None,
              out_file: Path | None, outbox: bool) -> None:
    """Write a camt.053 statement of a wallet, or of the token supply of a currency, from the
    ledger journal: OPBD and CLBD, one entry per posting (with --intraday, a camt.052 of today
    so far: OPBD and ITBD)."""
    if (account is None) == (currency is None):
        raise click.UsageError("name exactly one of --account ID or --supply CCY")
    if intraday_report == (first_day is not None or last_day is not None):
        raise click.UsageError("give either --from DATE --to DATE or --intraday")
    if not intraday_report and (first_day is None or last_day is None):
        raise click.UsageError("a statement needs both --from and --to")
    if last_day is not None and first_day is not None and last_day < first_day:
        raise click.UsageError("--to is before --from")
    kind = ACCOUNT_REPORT if intraday_report else STATEMENT
    try:
        version = kind.version(version or kind.default_version)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    current = settings()
    with store_or_exit(current) as store, store() as uow:
        if intraday_report:
            start, end = intraday(store.clock(), ZoneInfo(current.timezone))
        else:
            start, end = _day(first_day), _day(last_day) + timedelta(days=1)
        try:
            subject = statement_subject(uow.accounts, account=account, currency=currency)
        except UnknownAccount as exc:
            raise click.ClickException(str(exc)) from None
        message = ledger_statement(uow, subject, start=start, end=end,
                                   message_id=new_message_id(), created_at=store.clock(),
                                   servicer_bic=current.issuer_bic, interim=intraday_report)
        body = kind.message(message, version)
        check = MessageReader(max_bytes=max(current.max_message_bytes, len(body) + 1)).read(body)
        if not check.valid:  # never send a statement the bank's systems would refuse
            raise click.ClickException(f"the {kind.family} written is not valid {version}: "
                                       f"{check.findings[0]}")
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
