"""camt.053, a bank statement: reconciled against the ledger (bridge.reconciler), its report
(JSON) the reply (`report.reconciliation`). A thin handler: the use case is the reconciler's."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.outcomes import MessageOutcome, not_acted_on, refused
from bridge.payments.authorisation import authorise_statement
from bridge.ports import UnitOfWork
from bridge.reconciler import reconcile_statement_message


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
            return refused(read, digest, problem, read.message_id)
        done = reconcile_statement_message(
            read.payload, uow, apply=not dry_run, clock=self.clock,
            correlation_id=read.header.business_message_id if read.header else None)
        return MessageOutcome(digest, done.verdict, read.message_type, read.message_id,
                              reply=done.reply, summary=done.summary)
