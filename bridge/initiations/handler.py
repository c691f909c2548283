"""pain.001, a customer credit transfer initiation: authorise the channel -> each transaction:
its finding, the debtor account is the channel's own, its translation, the ledger -> for a
burn, the fiat leg (an outgoing pacs.008) -> answer with a pain.002.

    channel (channels) -> debtor's account and its group (channels) -> translation (payments)
    -> TRANSFER (creditor tokenized here) or BURN (creditor elsewhere) + fiat leg (fiat_leg)

The issuer-channel debit rule of a pacs.008 (payments.authorisation.authorise_operation) does
not apply: a corporate debits its own accounts through its own channel, which is what
`authorise_channel` and `authorise_debit` check instead. A pain.001 never mints: its debtor is
tokenized here or the transaction is rejected.

Across currencies (the instructed currency is not the debtor account's), the transaction
settles payment-versus-payment (bridge.fx.settlement): to a creditor here in another currency,
or to a creditor elsewhere, the FX position of the instructed currency then funding the burn
whose fiat leg leaves in that currency. A block's `ReqdExctnDt` after today (in the bank's time
zone) holds its transactions until that date begins (answered ACSP); the holds scheduler
executes them, and a held burn's fiat leg leaves then, with the follow-up pain.002.
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
from bridge.initiations.fiat_leg import leg_uetr, routable
from bridge.initiations.outgoing import fiat_leg_message
from bridge.initiations.initiation import PaymentInitiation
from bridge.initiations.replies import answerable_initiation, initiation_status_report
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage
from bridge.fx.exchange import CrossCurrencyPayment
from bridge.fx.settlement import PLANNED, settle_pvp
from bridge.holds.terms import HoldKind, HoldTerms
from bridge.holds.value_dating import settles_later
from bridge.operations import BURN, PaymentRefs, Rejection, TokenOperation
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.credit_transfer import CreditTransfer
from bridge.payments.handler import answer_summary, group_status, message_rejection
from bridge.payments.translation import ours, translate
from bridge.ports import APPLIED, UnitOfWork


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
        execution = initiation.block_of(tx.index).requested_execution_date
        later = settles_later(execution, self.clock(), self.config.timezone)
        if isinstance(decided, CrossCurrencyPayment):
            if later is not None:  # a hold keeps one operation; a PvP is two legs
                return rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                f"a payment across currencies requested for {execution} (a future "
                                f"ReqdExctnDt) is not supported: send it on the day")
            return self._exchange(read, ids, tx, key, decided, uow, dry_run)
        if later is not None:
            return self._held(ids, decided, HoldTerms(HoldKind.VALUE_DATED, later), uow, dry_run), None
        if dry_run:
            return TransactionOutcome(**ids, status=Status.ACCEPTED_SETTLEMENT_COMPLETED,
                                      operation=decided, result=PLANNED), None
        applied = uow.ledger.apply(decided)
        if applied.rejection is not None:
            return rejected(applied.rejection.reason, applied.rejection.info)
        ids["uetr"] = decided.refs.uetr  # of a burn, its fiat leg's: what a status request asks by
        outcome = TransactionOutcome(**ids, status=applied.status, operation=decided,
                                     result=applied.result)
        # The fiat leg leaves once, with the burn that first applies; a replay sends nothing.
        if decided.kind != BURN or applied.result != APPLIED:
            return outcome, None
        return outcome, self._fiat_leg(read, tx, key)

    def _held(self, ids: dict, operation: TokenOperation, terms: HoldTerms, uow: UnitOfWork,
              dry_run: bool) -> TransactionOutcome:
        """A transaction requested for a later date: held (its amount reserved) and answered
        ACSP; the holds scheduler executes it when the date begins, and only then does a burn's
        fiat leg leave, with the follow-up pain.002 (bridge.settlement.follow_ups)."""
        info = f"held until {terms.expiry.isoformat()} (ReqdExctnDt), executed then"
        if dry_run:
            return TransactionOutcome(**ids, status=Status.ACCEPTED_SETTLEMENT_IN_PROCESS,
                                      operation=operation, result=PLANNED, info=info)
        held = uow.ledger.hold(operation, terms)
        if held.rejection is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, operation=operation,
                                      reason=held.rejection.reason, info=held.rejection.info)
        ids["uetr"] = operation.refs.uetr
        return TransactionOutcome(**ids, status=held.status, operation=operation, result=held.result,
                                  info=info)

    def _exchange(self, read: ReadMessage, ids: dict, tx: CreditTransfer, key: str,
                  payment: CrossCurrencyPayment, uow: UnitOfWork,
                  dry_run: bool) -> tuple[TransactionOutcome, OutboundMessage | None]:
        """A transaction across currencies, settled payment-versus-payment (both legs or
        neither); the reply states the rate and both amounts. Without a creditor here, the FX
        position of the instructed currency funds a burn and the fiat leg leaves in that
        currency, once, when the legs first apply."""
        settled = settle_pvp(uow.ledger, payment, self.config.rates, self.config.rate_tolerance_bps,
                             self.clock(), uow.accounts.fx_positions(), dry_run=dry_run)
        leg = settled.exchange.debit_leg if settled.exchange is not None else None
        if settled.outcome.rejection is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, operation=leg,
                                      reason=settled.outcome.rejection.reason, info=settled.info), None
        burns = payment.credit_wallet is None
        ids["uetr"] = payment.refs.uetr
        outcome = TransactionOutcome(**ids, status=settled.outcome.status, operation=leg,
                                     result=settled.outcome.result, info=settled.info)
        if not burns or settled.outcome.result != APPLIED:
            return outcome, None
        return outcome, self._fiat_leg(read, tx, key)

    def _decide(self, initiation: PaymentInitiation, tx: CreditTransfer, key: str, channel: str,
                uow: UnitOfWork) -> TokenOperation | CrossCurrencyPayment | Rejection:
        """The operation a corporate's transaction asks for, or why there is none: the debtor's
        account is tokenized here and the channel's own, then the payments' translation (a
        creditor here in another currency: a CrossCurrencyPayment), or, for a creditor
        elsewhere in another currency than the debtor account's, a PvP whose credit leg burns."""
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
        elsewhere = ours(tx.creditor, tx.creditor_agent, uow.accounts.get, self.config.issuer_bic) is None
        if isinstance(decided, Rejection):
            # AM03 on the debtor's side only: its account is usable but holds another currency
            if (decided.reason == Reason.NOT_ALLOWED_CURRENCY and elsewhere
                    and debtor.currency != tx.amount.currency):
                return self._burn_across(initiation, tx, key, debtor.wallet, debtor.currency)
            return decided
        if isinstance(decided, CrossCurrencyPayment) or decided.kind != BURN:
            return decided  # a TRANSFER, or a PvP to a creditor here (never a MINT: the debtor is ours)
        refused = self._fiat_leg_refusal(tx)
        if refused is not None:
            return refused
        return replace(decided, refs=replace(decided.refs, uetr=leg_uetr(tx, key)))

    def _burn_across(self, initiation: PaymentInitiation, tx: CreditTransfer, key: str,
                     debit_wallet: str, debit_currency: str) -> CrossCurrencyPayment | Rejection:
        """A payment elsewhere in another currency than the debtor account's: the debtor's
        tokens to the FX position of their currency, the FX position of the instructed currency
        burns the instructed amount, which the fiat leg pays."""
        refused = self._fiat_leg_refusal(tx)
        if refused is not None:
            return refused
        refs = PaymentRefs(message_id=initiation.group_header.message_id,
                           end_to_end_id=tx.end_to_end_id, transaction_id=tx.transaction_id,
                           uetr=leg_uetr(tx, key), instruction_id=tx.instruction_id)
        return CrossCurrencyPayment(key=key, debit_wallet=debit_wallet, debit_currency=debit_currency,
                                    credit_wallet=None, credit_currency=tx.amount.currency,
                                    credit_amount=tx.amount.to_minor(), refs=refs)

    def _fiat_leg_refusal(self, tx: CreditTransfer) -> Rejection | None:
        """Why a payment to a creditor elsewhere cannot leave on the legacy rail, if it cannot."""
        if not self.config.issuer_bic:
            return Rejection(Reason.TRANSACTION_NOT_SUPPORTED,
                             "a payment to a creditor elsewhere needs TOKENBRIDGE_ISSUER_BIC: its "
                             "fiat leg names this bank")
        if not routable(tx.creditor_agent):
            return Rejection(Reason.INVALID_CREDITOR_BIC_IDENTIFIER,
                             "the creditor is not tokenized here and CdtrAgt names no BIC nor "
                             "clearing member id: the fiat leg cannot reach the creditor's bank")
        return None

    def _fiat_leg(self, read: ReadMessage, tx: CreditTransfer, key: str) -> OutboundMessage:
        return fiat_leg_message(read, tx, key, self.config.issuer_bic, self.clock())

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
