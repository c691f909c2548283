"""The camt.053 handler: what the bridge does with a bank statement it receives. Authorise its
sender, reconcile it against the ledger in the caller's unit of work
(bridge.reconciliation.service), and answer with the report as JSON on `tokenbridge.out`.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.codes import Verdict
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.messages import OutboundMessage, new_message_id
from bridge.outcomes import MessageOutcome, not_acted_on, refused
from bridge.payments.authorisation import authorise_statement
from bridge.ports import UnitOfWork
from bridge.reconciliation.outcomes import ReconciliationReport
from bridge.reconciliation.report import report_to_dict
from bridge.reconciliation.service import Reconciler, StatementRefused
from bridge.statements import StatementMessage

REPORT_MESSAGE_TYPE = "report.reconciliation"
"""The reconciliation report's type on `tokenbridge.out`, and so its routing key."""


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What the inbox records and the bridge sends for one camt.053: verdict accepted (clean),
    breaks (someone must look), or refused (bad input, nothing applied)."""

    verdict: Verdict
    summary: str
    report: ReconciliationReport | None = None
    reply: OutboundMessage | None = None


def handle_statement(message: StatementMessage, uow: UnitOfWork, *, apply: bool,
                     clock: Callable[[], datetime], correlation_id: str | None = None) -> StatementOutcome:
    """A camt.053 received: reconcile it (with `apply`, the mints and reversals it causes are
    applied in `uow`), and answer with the report (JSON) as a `report.reconciliation` message
    for `tokenbridge.out`, correlated to `correlation_id` or else to the statement's MsgId."""
    try:
        report = Reconciler(clock).reconcile(message, uow, apply=apply)
    except StatementRefused as exc:
        return StatementOutcome(Verdict.REFUSED, f"refused: {exc}")
    body = json.dumps(report_to_dict(report), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    reply = OutboundMessage(new_message_id(), correlation_id or message.message_id,
                            REPORT_MESSAGE_TYPE, body, content_type="application/json")
    entries = sum(len(s.entries) for s in report.statements)
    if report.clean:
        return StatementOutcome(Verdict.ACCEPTED,
                                f"reconciled clean: {len(report.statements)} statement(s), "
                                f"{entries} entries", report, reply)
    counts = Counter(b.category for b in report.breaks)
    listed = ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
    return StatementOutcome(Verdict.BREAKS, f"reconciled with breaks: {listed}", report, reply)


class StatementReconciliation:
    """The camt.053 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Nothing to do ahead: each statement reads the ledger as it stands when its turn comes."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        if read.payload is None or read.findings:  # nothing to reconcile, nor to answer
            return not_acted_on(read, digest)
        problem = authorise_statement(read.payload, read.header, self.config.authority)
        if problem is not None:
            # A statement read and understood, refused for who sent it: not a message reject (no
            # admi.002), as one of an account not registered is not; the inbox says why.
            return refused(read, digest, problem, read.message_id, code=None)
        done = handle_statement(
            read.payload, uow, apply=not dry_run, clock=self.clock,
            correlation_id=read.header.business_message_id if read.header else None)
        return MessageOutcome(digest, done.verdict, read.message_type, read.message_id,
                              reply=done.reply, summary=done.summary)
