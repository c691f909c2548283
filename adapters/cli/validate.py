"""`tokenbridge validate [--json] PATH...`: read and validate files; exit 0 all valid, 1 any invalid."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from adapters.cli.common import files_or_usage_error
from adapters.config import load_settings
from adapters.files import read_bounded
from bridge.iso.findings import Finding
from bridge.iso.reader import MessageReader, ReadMessage


def verdict_json(path: Path, result: ReadMessage) -> dict[str, Any]:
    """One line of `validate --json` (INTERFACE.md), with the XSD verdicts per part added."""
    return {
        "path": str(path),
        "valid": result.valid,
        "message_type": result.message_type,
        "envelope": result.envelope,
        "document_valid": result.document_valid,
        "header_valid": result.header_valid,
        "header_type": result.header.version if result.header else None,
        "errors": [f.as_json() for f in result.findings],
    }


def _located(finding: Finding) -> str:
    """A finding for people: line[:column], the element path, the message, rule and reason."""
    where = f"line {finding.line}" if finding.line else finding.part
    if finding.line and finding.column is not None:
        where += f":{finding.column}"
    path = f" {finding.path}" if finding.path else ""
    return f"{where}{path}: {finding.message} [{finding.rule}, {finding.reason}]"


def _echo_human(path: Path, result: ReadMessage) -> None:
    kind = result.message_type or "no ISO message"
    where = f"{kind}, {result.envelope}" if result.envelope else kind
    if result.valid:
        click.echo(f"{click.style('valid  ', fg='green')} {path}  ({where})")
        return
    click.echo(f"{click.style('INVALID', fg='red', bold=True)} {path}  ({where})")
    for finding in result.findings[:20]:
        click.echo(f"    {_located(finding)}")
    if len(result.findings) > 20:
        click.echo(f"    ... and {len(result.findings) - 20} more")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None,
              help="Refuse inputs larger than this (default 10 MiB, or TOKENBRIDGE_MAX_MESSAGE_BYTES).")
@click.argument("paths", nargs=-1, required=True)
def validate(as_json: bool, max_bytes: int | None, paths: tuple[str, ...]) -> None:
    """Validate ISO 20022 files (or directories of *.xml) against the official XSDs and the
    bridge's business rules (a camt.053 must also add up: balances and TxsSummry)."""
    limit = max_bytes or load_settings().max_message_bytes
    files = files_or_usage_error(paths)
    reader = MessageReader(max_bytes=limit, statement_totals=True)
    all_valid = True
    for path in files:
        result = reader.read(read_bounded(path, limit))
        all_valid &= result.valid
        if as_json:
            click.echo(json.dumps(verdict_json(path, result), ensure_ascii=False))
        else:
            _echo_human(path, result)
    raise SystemExit(0 if all_valid else 1)
