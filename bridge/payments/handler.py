"""pacs.008 and pacs.009, credit transfers: authorise -> translate -> apply -> answer with a pacs.002.

    message rules and sender (authorisation) -> each transaction: its finding, its translation
    (translation), its debit rule (authorisation), the ledger -> the group status and the reply

A payment across currencies is settled payment-versus-payment (bridge.fx.settlement.settle_pvp):
both legs or neither, its reply stating the rate and both amounts. A pacs.009 cover's mint is
one payment with its pacs.008's (COVER_ROAD claims): the money moves once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from bridge.codes import Status
from bridge.holds.service import hold_terms
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.iso.reader import ReadMessage
from bridge.operations import Rejection, TokenOperation
from bridge.fx.exchange import CrossCurrencyPayment, credit_leg_key
from bridge.fx.settlement import PLANNED, settle_pvp
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.authorisation import authorise_instruction, authorise_operation
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage
from bridge.payments.replies import (answer_summary, answerable, group_status, message_rejection,
                                    status_report, transaction_statuses)
from bridge.payments.translation import Decision, accounts_named, translate_message
from bridge.ports import COVER_ROAD, PAYMENT_ROAD, MintClaim, UnitOfWork
from bridge.reconciliation.statement_mints import mint_claim, minted_from_statement, statement_key_of


class Translated(NamedTuple):
    """What translation decided for one transaction, and the references its mint claims
    (`mint_claim`, None for anything but a mint): made once, for the ledger to read ahead
    (`Ledger.prepare`), to find a mint by the other road, and to claim with the mint."""

    decision: Decision
    claim: MintClaim | None


Decisions = list[Translated]
"""What translation decided for each transaction of a message, in order."""


class CreditTransfers:
    """The pacs.008 and pacs.009 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Translate each message of a batch once, and tell the ledger what their payments will
        apply and look up, so that it can read their keys and balances in one go (Ledger.prepare).
        The accounts they name are read first, all at once (AccountRegistry.get_many)."""
        payloads = [m.read.payload for m in messages if m.read.payload is not None]
        if payloads:
            uow.accounts.get_many([key for payload in payloads for key in accounts_named(payload)])
        planned, lookups, references = [], [], []
        for message in messages:
            if message.read.payload is None:
                continue
            message.prepared = decisions = self._translate(message.read.payload, uow)
            for decided, claim in decisions:
                if isinstance(decided, CrossCurrencyPayment):  # its legs' keys: a replay is found
                    lookups.extend((decided.key, credit_leg_key(decided.key)))
                elif isinstance(decided, TokenOperation):
                    planned.append(decided)
                    if (ref := statement_key_of(decided)) is not None:
                        lookups.append(ref)
                    if claim is not None:
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
        transactions = tuple(self._transaction(read, index, translated, uow, dry_run)
                             for index, translated in enumerate(decisions))
        return self._answer(read, digest, message_id, version, transactions, None)

    def _translate(self, payload: CreditTransferMessage, uow: UnitOfWork) -> Decisions:
        decisions = translate_message(payload, uow.accounts.get, self.config.issuer_bic)
        return [Translated(decided, mint_claim(decided, _road(tx))
                           if isinstance(decided, TokenOperation) else None)
                for tx, decided in zip(payload.transactions, decisions, strict=True)]

    def _transaction(self, read: ReadMessage, index: int, translated: Translated,
                     uow: UnitOfWork, dry_run: bool) -> TransactionOutcome:
        message: CreditTransferMessage = read.payload
        tx = message.transactions[index]
        decided, claim = translated.decision, translated.claim
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
        if isinstance(decided, CrossCurrencyPayment):
            return self._exchange(ids, decided, uow, dry_run)
        info = tx.underlying.describe() if tx.underlying is not None else None
        # Settling later (a value date ahead, a condition): held now, applied when the hold ends.
        terms = hold_terms(tx, self.clock(), self.config.timezone)
        if isinstance(terms, Rejection):
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=terms.reason, info=terms.info)
        if dry_run:
            return TransactionOutcome(**ids, status=(Status.ACCEPTED_SETTLEMENT_COMPLETED if terms is None
                                                     else Status.ACCEPTED_SETTLEMENT_IN_PROCESS),
                                      operation=decided, result=PLANNED, info=info)
        if terms is not None:
            held = uow.ledger.hold(decided, terms)
            if held.rejection is not None:
                return TransactionOutcome(**ids, status=Status.REJECTED, operation=decided,
                                          reason=held.rejection.reason, info=held.rejection.info)
            return TransactionOutcome(**ids, status=held.status, operation=decided, result=held.result,
                                      info=info)
        # A statement entry (or, for a cover, its pacs.008) may have minted this payment already;
        # a mint claims its payment's references, so that the other road finds it
        # (bridge.reconciliation.statement_mints).
        applied = (minted_from_statement(uow.ledger, decided, _road(tx), claim)
                   or uow.ledger.apply(decided, claim))
        if applied.rejection is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, operation=decided,
                                      reason=applied.rejection.reason, info=applied.rejection.info)
        return TransactionOutcome(**ids, status=applied.status, operation=decided,
                                  result=applied.result, info=info)

    def _exchange(self, ids: dict, payment: CrossCurrencyPayment, uow: UnitOfWork,
                  dry_run: bool) -> TransactionOutcome:
        """A payment across currencies, settled payment-versus-payment (both legs or neither);
        the outcome's operation is the debit leg (the one under the payment's key)."""
        settled = settle_pvp(uow.ledger, payment, self.config.rates, self.config.rate_tolerance_bps,
                             self.clock(), uow.accounts.fx_positions(), dry_run=dry_run)
        leg = settled.exchange.debit_leg if settled.exchange is not None else None
        if settled.outcome.rejection is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, operation=leg,
                                      reason=settled.outcome.rejection.reason, info=settled.info)
        return TransactionOutcome(**ids, status=settled.outcome.status, operation=leg,
                                  result=settled.outcome.result, info=settled.info)

    def _answer(self, read: ReadMessage, digest: str, message_id: str, version: str,
                transactions: tuple[TransactionOutcome, ...],
                rejection: Rejection | None) -> MessageOutcome:
        group, verdict = group_status(transactions, rejection)
        reply = status_report(read, message_id, version, transaction_statuses(read, transactions),
                              group, self.config, self.clock(), rejection)
        return MessageOutcome(digest, verdict, read.message_type, message_id, transactions, reply,
                              tuple(read.findings), answer_summary(group, transactions, rejection))


def _road(tx: CreditTransfer) -> str:
    """The road a transaction's mint takes: a pacs.009 cover's (it moves its underlying
    pacs.008's payment) or a payment's."""
    return COVER_ROAD if tx.underlying is not None else PAYMENT_ROAD


def _all_rejected(payload: CreditTransferMessage | None,
                  rejection: Rejection) -> tuple[TransactionOutcome, ...]:
    if payload is None:
        return ()
    return tuple(TransactionOutcome(tx.index, tx.end_to_end_id, tx.uetr, Status.REJECTED,
                                    reason=rejection.reason, info=rejection.info)
                 for tx in payload.transactions)
