"""The camt.053 handler: what the bridge does with a bank statement it receives. Reconcile it
against the ledger in the caller's unit of work (bridge.reconciliation.service), and answer with
the report as JSON on `tokenbridge.out`.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.messages import OutboundMessage
from bridge.ports import UnitOfWork
from bridge.reconciliation.outcomes import ReconciliationReport
from bridge.reconciliation.report import report_to_dict
from bridge.reconciliation.service import Reconciler, StatementRefused
from bridge.statements import StatementMessage

REPORT_MESSAGE_TYPE = "report.reconciliation"
"""The reconciliation report's type on `tokenbridge.out`, and so its routing key."""


class StatementVerdict(StrEnum):
    """What the inbox records for a camt.053 (the message verdicts' words, plus `breaks`)."""

    ACCEPTED = "accepted"  # reconciled clean
    BREAKS = "breaks"  # reconciled, with breaks someone must look at
    REFUSED = "refused"  # not reconciled at all: bad input, nothing applied


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What the pipeline records and sends for one camt.053."""

    verdict: StatementVerdict
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
        return StatementOutcome(StatementVerdict.REFUSED, f"refused: {exc}")
    body = json.dumps(report_to_dict(report), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    reply = OutboundMessage(f"TB{uuid.uuid4().hex[:30]}", correlation_id or message.message_id,
                            REPORT_MESSAGE_TYPE, body, content_type="application/json")
    entries = sum(len(s.entries) for s in report.statements)
    if report.clean:
        return StatementOutcome(StatementVerdict.ACCEPTED,
                                f"reconciled clean: {len(report.statements)} statement(s), "
                                f"{entries} entries", report, reply)
    counts = Counter(b.category for b in report.breaks)
    listed = ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
    return StatementOutcome(StatementVerdict.BREAKS, f"reconciled with breaks: {listed}", report, reply)
