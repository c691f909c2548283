"""pain.001, a customer credit transfer initiation: authorise the channel -> each transaction:
its finding, the debtor account is the channel's own, its translation, the ledger -> for a
burn, the fiat leg (an outgoing pacs.008) -> answer with a pain.002.

    channel (channels) -> debtor's account and its group (channels) -> translation (payments)
    -> TRANSFER (creditor tokenized here) or BURN (creditor elsewhere) + fiat leg (fiat_leg)

The issuer-channel debit rule of a pacs.008 (payments.authorisation.authorise_operation) does
not apply: a corporate debits its own accounts through its own channel, which is what
`authorise_channel` and `authorise_debit` check instead. A pain.001 never mints: its debtor is
tokenized here or the transaction is rejected.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bridge.codes import Reason, Status
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.initiations.channels import (authorise_channel, authorise_debit, channel_of,
                                         initiation_keys)
from bridge.initiations.fiat_leg import FIAT_LEG_VERSION, fiat_leg, leg_uetr, routable
from bridge.initiations.initiation import PaymentInitiation
from bridge.initiations.replies import answerable_initiation, initiation_status_report
from bridge.iso.pacs008_writer import write_fiat_leg
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage, new_message_id
from bridge.operations import BURN, Rejection, TokenOperation
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.credit_transfer import CreditTransfer
from bridge.payments.handler import answer_summary, group_status, message_rejection
from bridge.payments.translation import ours, translate
from bridge.ports import UnitOfWork


class CorporatePayments:
    """The pain.001 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Nothing read ahead: corporate initiations are few and each is handled on its own."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        answer = answerable_initiation(read, digest, self.config.reply_versions)
        if isinstance(answer, MessageOutcome):
            return answer
        message_id, version = answer
        initiation: PaymentInitiation | None = read.payload
        channel = channel_of(read.header, initiation)
        rejection = message_rejection(read) or authorise_channel(channel, read.header,
                                                                 self.config.authority)
        if rejection is not None:
            rejected = tuple(TransactionOutcome(tx.index, tx.end_to_end_id, tx.uetr, Status.REJECTED,
                                                reason=rejection.reason, info=rejection.info)
                             for tx in (initiation.transactions if initiation else ()))
            return self._answer(read, digest, message_id, version, rejected, (), rejection)
        keys = initiation_keys(initiation, channel)
        outcomes, legs = [], []
        for tx, key in zip(initiation.transactions, keys, strict=True):
            outcome, leg = self._transaction(read, initiation, tx, key, channel, uow, dry_run)
            outcomes.append(outcome)
            if leg is not None:
                legs.append(leg)
        return self._answer(read, digest, message_id, version, tuple(outcomes), tuple(legs), None)

    def _transaction(self, read: ReadMessage, initiation: PaymentInitiation, tx: CreditTransfer,
                     key: str, channel: str, uow: UnitOfWork,
                     dry_run: bool) -> tuple[TransactionOutcome, OutboundMessage | None]:
        ids = dict(index=tx.index, end_to_end_id=tx.end_to_end_id, uetr=tx.uetr)

        def rejected(reason: str, info: str) -> tuple[TransactionOutcome, None]:
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=reason, info=info), None

        finding = next((f for f in read.findings if f.transaction == tx.index), None)
        if finding is not None:
            return rejected(finding.reason, finding.message)
        decided = self._decide(initiation, tx, key, channel, uow)
        if isinstance(decided, Rejection):
            return rejected(decided.reason, decided.info)
        if dry_run:
            return TransactionOutcome(**ids, status=Status.ACCEPTED_SETTLEMENT_COMPLETED,
                                      operation=decided, result="planned"), None
        applied = uow.ledger.apply(decided)
        if applied.rejection is not None:
            return rejected(applied.rejection.reason, applied.rejection.info)
        ids["uetr"] = decided.refs.uetr  # of a burn, its fiat leg's: what a status request asks by
        outcome = TransactionOutcome(**ids, status=applied.status, operation=decided,
                                     result=applied.result)
        # The fiat leg leaves once, with the burn that first applies; a replay sends nothing.
        if decided.kind != BURN or applied.result != "applied":
            return outcome, None
        return outcome, self._fiat_leg(read, tx, key)

    def _decide(self, initiation: PaymentInitiation, tx: CreditTransfer, key: str, channel: str,
                uow: UnitOfWork) -> TokenOperation | Rejection:
        """The operation a corporate's transaction asks for, or why there is none: the debtor's
        account is tokenized here and the channel's own, then the payments' translation."""
        # ours: registered, and the debtor's agent (when named by BIC) is this bank
        debtor = ours(tx.debtor, tx.debtor_agent, uow.accounts.get, self.config.issuer_bic)
        if debtor is None:
            return Rejection(Reason.INVALID_DEBTOR_ACCOUNT_NUMBER,
                             f"debtor account {tx.debtor.account or '(none)'} is not tokenized at "
                             f"this bank: a corporate pays from its tokenized accounts only")
        forbidden = authorise_debit(channel, debtor)
        if forbidden is not None:  # before anything else is said about another's account
            return forbidden
        decided = translate(tx, initiation.group_header, uow.accounts.get, key=key,
                            issuer_bic=self.config.issuer_bic)
        if isinstance(decided, Rejection):
            if decided.reason == Reason.NOT_ALLOWED_CURRENCY:
                return Rejection(decided.reason, f"{decided.info}; a payment across currencies "
                                                 f"(PvP) is not settled here yet")
            return decided
        if decided.kind != BURN:  # a TRANSFER (never a MINT: the debtor is ours)
            return decided
        if not self.config.issuer_bic:
            return Rejection(Reason.TRANSACTION_NOT_SUPPORTED,
                             "a payment to a creditor elsewhere needs TOKENBRIDGE_ISSUER_BIC: its "
                             "fiat leg names this bank")
        if not routable(tx.creditor_agent):
            return Rejection(Reason.INVALID_CREDITOR_BIC_IDENTIFIER,
                             "the creditor is not tokenized here and CdtrAgt names no BIC nor "
                             "clearing member id: the fiat leg cannot reach the creditor's bank")
        return replace(decided, refs=replace(decided.refs, uetr=leg_uetr(tx, key)))

    def _fiat_leg(self, read: ReadMessage, tx: CreditTransfer, key: str) -> OutboundMessage:
        now = self.clock()
        leg = fiat_leg(tx, key, new_message_id(), self.config.issuer_bic, now.date())
        correlation = (read.header.business_message_id if read.header else None) or read.message_id
        return OutboundMessage(leg.message_id, correlation, FIAT_LEG_VERSION, write_fiat_leg(leg, now))

    def _answer(self, read: ReadMessage, digest: str, message_id: str, version: str,
                transactions: tuple[TransactionOutcome, ...], legs: tuple[OutboundMessage, ...],
                rejection: Rejection | None) -> MessageOutcome:
        group, verdict = group_status(transactions, rejection)
        reply = initiation_status_report(read, message_id, version, transactions, group, rejection,
                                         self.config, self.clock())
        summary = answer_summary(group, transactions, rejection) + (
            f"; {len(legs)} fiat leg(s) sent" if legs else "")
        return MessageOutcome(digest, verdict, read.message_type, message_id, transactions, reply,
                              tuple(read.findings), summary, emitted=legs)
