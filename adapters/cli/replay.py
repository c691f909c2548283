"""`tokenbridge replay [--dry-run] [--out DIR] PATH...`: files through the full pipeline,
in-process, in the order given; exit 0 all accepted, 1 any rejected or refused, 2 usage."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from adapters.bootstrap import build_bus
from adapters.cli.common import files_or_usage_error, major, settings, store_or_exit
from adapters.files import read_bounded
from bridge.operations import BURN, MINT, TRANSFER
from bridge.codes import Status, Verdict
from bridge.outcomes import MessageOutcome

PROGRESS_FROM = 20
"""Show a progress bar when replaying at least this many files."""

_STYLE = {Verdict.ACCEPTED: "green", Verdict.PARTIAL: "yellow", Verdict.BREAKS: "yellow",
          Verdict.REJECTED: "red", Verdict.REFUSED: "red bold"}


def _describe(outcome: MessageOutcome) -> str:
    parts = []
    for tx in outcome.transactions:
        op = tx.operation
        if tx.status == Status.REJECTED:
            parts.append(f"RJCT {tx.reason}: {tx.info}")
        elif op is not None:
            target = {MINT: f"-> {op.credit_wallet}", BURN: f"<- {op.debit_wallet}",
                      TRANSFER: f"{op.debit_wallet} -> {op.credit_wallet}"}[op.kind]
            again = " (seen before, no new effect)" if tx.result == "replayed" else ""
            parts.append(f"{tx.status} {op.kind} {major(op.amount, op.currency)} {op.currency} "
                         f"{target}{again}")
    return "; ".join(parts) or _with_reason(outcome)


def _with_reason(outcome: MessageOutcome) -> str:
    """The summary, and why when the outcome knows and the summary does not say: a message
    rejected whole before any transaction was read (schema-invalid) has only codes in it."""
    first = outcome.findings[0] if outcome.findings else None
    why = str(first) if first is not None else (outcome.refusal.text if outcome.refusal else "")
    if not why or (first is not None and first.message in outcome.summary) or why in outcome.summary:
        return outcome.summary
    return f"{outcome.summary}: {why}"


_WOULD = {Verdict.ACCEPTED: "would accept", Verdict.PARTIAL: "would partly accept",
          Verdict.REJECTED: "would reject", Verdict.REFUSED: "would refuse",
          Verdict.BREAKS: "would break"}
"""What a dry run says of each message: nothing was applied, so nothing `accepted`."""


def _verdict_label(verdict: str, dry_run: bool) -> str:
    return _WOULD.get(verdict, f"would be {verdict}") if dry_run else verdict


class Summary:
    """Totals of a replay run, for the closing table."""

    def __init__(self) -> None:
        self.verdicts: Counter[str] = Counter()
        self.seen_before = 0
        self.transactions = 0
        self.moved: dict[tuple[str, str], int] = defaultdict(int)
        self.rejects: Counter[str] = Counter()

    def add(self, outcome: MessageOutcome) -> None:
        self.verdicts[outcome.verdict] += 1
        self.seen_before += outcome.seen_before
        for tx in outcome.transactions:
            self.transactions += 1
            if tx.status == Status.REJECTED:
                self.rejects[tx.reason or "?"] += 1
            elif tx.operation is not None and tx.result in ("applied", "planned"):
                self.moved[(tx.operation.kind, tx.operation.currency)] += tx.operation.amount

    def table(self, dry_run: bool) -> Table:
        table = Table(title="Replay summary" + (" (dry run: nothing applied)" if dry_run else ""))
        table.add_column("what")
        table.add_column("count / amount", justify="right")
        for verdict, count in sorted(self.verdicts.items()):
            table.add_row(f"messages {verdict}" if not dry_run else
                          f"messages that {_verdict_label(verdict, dry_run)}", str(count))
        if self.seen_before:
            table.add_row("  of which seen before (answered again, no new effect)", str(self.seen_before))
        table.add_row("transactions", str(self.transactions))
        for (kind, currency), units in sorted(self.moved.items()):
            verb = {MINT: "minted", TRANSFER: "transferred", BURN: "burned"}[kind]
            table.add_row(f"{verb} {currency}", major(units, currency))
        for reason, count in sorted(self.rejects.items()):
            table.add_row(f"rejected {reason}", str(count))
        return table


@click.command()
@click.option("--dry-run", is_flag=True, help="Show the operations; apply and record nothing.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each reply here as <input name>.<reply type>.xml.")
@click.argument("paths", nargs=-1, required=True)
def replay(dry_run: bool, out_dir: Path | None, paths: tuple[str, ...]) -> None:
    """Run message files through the full pipeline, in the order given (directories in
    file-name order), exactly as the worker would."""
    files = files_or_usage_error(paths)
    current = settings()
    console = Console(highlight=False)
    summary = Summary()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    with store_or_exit(current) as store:
        bus = build_bus(current, store)
        with Progress(console=console, transient=True,
                      disable=len(files) < PROGRESS_FROM) as progress:
            task = progress.add_task("replaying", total=len(files))
            for path in files:
                outcome = bus.handle(read_bounded(path, current.max_message_bytes),
                                          dry_run=dry_run)
                summary.add(outcome)
                if out_dir is not None and not dry_run:
                    _write_sent(out_dir, path.stem, outcome)
                if len(files) < PROGRESS_FROM or outcome.verdict != Verdict.ACCEPTED:
                    # Any verdict gets a style (an empty one is not markup), and what the
                    # message says is text, never markup.
                    style = _STYLE.get(outcome.verdict, "bold")
                    console.print(f"[{style}]{_verdict_label(outcome.verdict, dry_run):<8}[/] "
                                  f"{escape(f'{path.name}: {_describe(outcome)}')}")
                progress.advance(task)
    console.print(summary.table(dry_run))
    clean = set(summary.verdicts) == {Verdict.ACCEPTED}
    raise SystemExit(0 if clean else 1)


def _write_sent(out_dir: Path, stem: str, outcome: MessageOutcome) -> None:
    """Every message the bridge sent for one input: its reply as `<input>.<type>.xml`; when it
    sent more (follow-ups, pacs.004, notifications, ...), each as `<input>.<n>.<type>.xml`, n
    from 1 (the reply) in the order sent, so that sorting keeps their order."""
    sent = ([outcome.reply] if outcome.reply is not None else []) + list(outcome.emitted)
    if len(sent) == 1:
        (out_dir / f"{stem}.{sent[0].message_type}.xml").write_bytes(sent[0].body)
        return
    width = len(str(len(sent)))
    for position, message in enumerate(sent, start=1):
        (out_dir / f"{stem}.{position:0{width}d}.{message.message_type}.xml").write_bytes(message.body)
