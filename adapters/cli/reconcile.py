"""`tokenbridge reconcile STATEMENT... [--json] [--html FILE] [--dry-run]`: camt.053 statements
against the ledger, through the same message bus as the worker.

Exit codes, for schedulers: 0 every statement clean, 1 any break (a statement that does not
add up is a `statement_inconsistent` break), 2 bad input (no such file, not a valid camt.053,
a statement of an account that is neither an omnibus nor a registered wallet's). Bad input is
found before anything is applied.

It applies by default, as the worker does: a booked omnibus credit naming a tokenized
beneficiary mints, a reversal undoes. `--dry-run` applies and records nothing. A statement
already reconciled (the same bytes, found in the inbox) is not applied again; it is
reconciled anew, read-only, against the ledger as it stands now.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from adapters.bootstrap import build_bus
from adapters.cli.common import settings, store_or_exit
from adapters.files import UsageError, message_files, read_bounded
from adapters.reports.html import render_html
from adapters.reports.terminal import print_report
from bridge.iso.reader import MessageReader
from bridge.codes import Verdict
from bridge.reconciliation.report import merge_reports
from bridge.reconciliation.service import StatementRefused, reconciled_account
from bridge.statements import StatementMessage

BAD_INPUT = 2


def _bad_input(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"bad input: {problem}", err=True)
    raise SystemExit(BAD_INPUT)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, for machines.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as a self-contained HTML page.")
@click.option("--dry-run", is_flag=True,
              help="Mint nothing, reverse nothing, record nothing: show what would be done.")
@click.argument("paths", nargs=-1, required=True)
def reconcile(as_json: bool, html_file: Path | None, dry_run: bool, paths: tuple[str, ...]) -> None:
    """Reconcile camt.053 statements (files or directories) with the ledger: omnibus
    statements against the token supply, wallet statements against the wallet's journal.

    It applies by default, as the worker does: a booked omnibus credit for a tokenized
    beneficiary that the ledger lacks is MINTED, a reversal is undone. To only look, use
    --dry-run: nothing is applied nor recorded."""
    try:
        files = message_files(paths)
    except UsageError as exc:
        _bad_input([str(exc)])
    if not files:
        _bad_input(["no .xml files in the paths given"])
    current = settings()
    reader = MessageReader(max_bytes=current.max_message_bytes)
    inputs: list[tuple[Path, bytes, StatementMessage]] = []
    problems: list[str] = []
    for path in files:
        raw = read_bounded(path, current.max_message_bytes)
        read = reader.read(raw)
        if not (read.message_type or "").startswith("camt.053"):
            problems.append(f"{path}: not a camt.053 ({read.message_type or 'no ISO 20022 Document'})")
        elif not read.valid or not isinstance(read.payload, StatementMessage):
            first = read.findings[0] if read.findings else None
            problems.append(f"{path}: {read.message_type} is not valid: {first or 'unreadable'}")
        else:
            inputs.append((path, raw, read.payload))
    with store_or_exit(current) as store:
        with store() as uow:  # every statement's account first: all or nothing
            for path, _, message in inputs:
                for statement in message.statements:
                    try:
                        reconciled_account(statement, uow.accounts.get)
                    except StatementRefused as exc:
                        problems.append(f"{path}: {exc}")
        if problems:
            _bad_input(problems)
        bus = build_bus(current, store)
        reports: list[dict[str, Any]] = []
        for path, raw, _ in inputs:
            outcome = bus.handle(raw, dry_run=dry_run)
            seen_before = outcome.seen_before
            if seen_before:  # applied once already: show it as the ledger stands now
                outcome = bus.handle(raw, dry_run=True)
            if outcome.verdict == Verdict.REFUSED or outcome.reply is None:
                _bad_input([f"{path}: {outcome.summary}"])
            report = json.loads(outcome.reply.body)
            report["dry_run"] = dry_run
            for statement in report["statements"]:
                statement["source"] = str(path)
                statement["seen_before"] = seen_before
            reports.append(report)
    merged = merge_reports(reports)
    if as_json:
        click.echo(json.dumps(merged, ensure_ascii=False))
    else:
        print_report(merged, Console(highlight=False))
    if html_file is not None:
        html_file.write_text(render_html(merged), encoding="utf-8")
        if not as_json:
            click.echo(f"HTML report: {html_file}")
    raise SystemExit(0 if merged["clean"] else 1)
