"""pacs.008, a credit transfer: authorise -> translate -> apply -> answer with a pacs.002.

    message rules and sender (authorisation) -> each transaction: its finding, its translation
    (translation), its debit rule (authorisation), the ledger -> the group status and the reply
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.codes import Status
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.iso.reader import ReadMessage
from bridge.operations import Rejection, TokenOperation
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.authorisation import authorise_instruction, authorise_operation
from bridge.payments.credit_transfer import CreditTransferMessage
from bridge.payments.replies import (answerable, group_status, message_rejection, status_report,
                                    transaction_statuses)
from bridge.payments.translation import translate_message
from bridge.ports import PAYMENT_ROAD, UnitOfWork
from bridge.reconciliation.statement_mints import mint_claim, minted_from_statement, statement_key_of

Decisions = list[TokenOperation | Rejection]
"""What translation decided for each transaction of a message, in order."""


class CreditTransfers:
    """The pacs.008 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Translate each message of a batch once, and tell the ledger what their payments will
        apply and look up, so that it can read their keys and balances in one go (Ledger.prepare)."""
        planned, lookups, references = [], [], []
        for message in messages:
            if message.read.payload is None:
                continue
            message.prepared = decisions = self._translate(message.read.payload, uow)
            for decided in decisions:
                if isinstance(decided, TokenOperation):
                    planned.append(decided)
                    if (ref := statement_key_of(decided)) is not None:
                        lookups.append(ref)
                    if (claim := mint_claim(decided, PAYMENT_ROAD)) is not None:
                        references.extend(claim.references)
        if planned:
            uow.ledger.prepare(planned, lookups, references)

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        answer = answerable(read, digest, self.config.reply_versions)
        if isinstance(answer, MessageOutcome):
            return answer
        message_id, version = answer
        rejection = message_rejection(read) or authorise_instruction(read.payload, read.header,
                                                                      self.config.authority)
        if rejection is not None:
            return self._answer(read, digest, message_id, version, _all_rejected(read.payload, rejection),
                                rejection)
        decisions: Decisions = (message.prepared if message.prepared is not None
                                else self._translate(read.payload, uow))
        transactions = tuple(self._transaction(read, index, decided, uow, dry_run)
                             for index, decided in enumerate(decisions))
        return self._answer(read, digest, message_id, version, transactions, None)

    def _translate(self, payload: CreditTransferMessage, uow: UnitOfWork) -> Decisions:
        return translate_message(payload, uow.accounts.get, self.config.issuer_bic)

    def _transaction(self, read: ReadMessage, index: int, decided: TokenOperation | Rejection,
                     uow: UnitOfWork, dry_run: bool) -> TransactionOutcome:
        message: CreditTransferMessage = read.payload
        tx = message.transactions[index]
        ids = dict(index=index, end_to_end_id=tx.end_to_end_id, uetr=tx.uetr)
        finding = next((f for f in read.findings if f.transaction == index), None)
        if finding is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=finding.reason,
                                      info=finding.message)
        if isinstance(decided, Rejection):
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=decided.reason,
                                      info=decided.info)
        refused_here = authorise_operation(decided, tx, message, read.header, self.config.authority)
        if refused_here is not None:  # before apply, and in a dry run too
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=refused_here.reason,
                                      info=refused_here.info)
        if dry_run:
            return TransactionOutcome(**ids, status=Status.ACCEPTED_SETTLEMENT_COMPLETED,
                                      operation=decided, result="planned")
        # A statement entry may have minted this payment already; a mint claims its payment's
        # references, so that a statement entry of it finds it (bridge.reconciliation.statement_mints).
        applied = (minted_from_statement(uow.ledger, decided)
                   or uow.ledger.apply(decided, mint_claim(decided, PAYMENT_ROAD)))
        if applied.rejection is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, operation=decided,
                                      reason=applied.rejection.reason, info=applied.rejection.info)
        return TransactionOutcome(**ids, status=applied.status, operation=decided,
                                  result=applied.result)

    def _answer(self, read: ReadMessage, digest: str, message_id: str, version: str,
                transactions: tuple[TransactionOutcome, ...],
                rejection: Rejection | None) -> MessageOutcome:
        group, verdict = group_status(transactions, rejection)
        reply = status_report(read, message_id, version, transaction_statuses(read, transactions),
                              group, self.config, self.clock(), rejection)
        rejected = [t for t in transactions if t.status == Status.REJECTED]
        reasons = sorted({t.reason for t in rejected if t.reason} | ({rejection.reason} if rejection else set()))
        summary = (f"{group}: {len(transactions) - len(rejected)} of {len(transactions)} accepted"
                   + (f"; rejects {', '.join(reasons)}" if reasons else ""))
        return MessageOutcome(digest, verdict, read.message_type, message_id, transactions, reply,
                              tuple(read.findings), summary)


def _all_rejected(payload: CreditTransferMessage | None,
                  rejection: Rejection) -> tuple[TransactionOutcome, ...]:
    if payload is None:
        return ()
    return tuple(TransactionOutcome(tx.index, tx.end_to_end_id, tx.uetr, Status.REJECTED,
                                    reason=rejection.reason, info=rejection.info)
                 for tx in payload.transactions)
