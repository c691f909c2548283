"""The pipeline: one inbound message through small typed steps, to an outcome and a reply.

    read (unwrap, validate, parse) -> authorise -> translate -> apply -> reply

The same pipeline serves `replay` (files, in-process) and the RabbitMQ worker. A message's
effects, its inbox record and its reply commit in one unit of work: all or nothing. A message
seen before (same bytes) is answered with the reply recorded the first time, with no new effect.
"""
from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import structlog

from bridge.authorisation import (Authority, authorise_instruction, authorise_operation,
                                  authorise_statement)
from bridge.iso.apphdr import reply_header
from bridge.iso.findings import Finding
from bridge.iso.pacs002 import reply_version, write_reply
from bridge.iso.pacs008 import group_header_text
from bridge.iso.reader import MessageReader, ReadMessage
from bridge.messages import InboundRecord, OutboundMessage
from bridge.operations import Rejection, TokenOperation
from bridge.payments import CreditTransferMessage
from bridge.ports import PAYMENT_ROAD, Inbox, Outbox, UnitOfWork
from bridge.reconciliation.handler import handle_statement
from bridge.status import (ACCEPTED_SETTLEMENT_COMPLETED, ACCEPTED_SETTLEMENT_IN_PROCESS,
                           PARTIALLY_ACCEPTED, REJECTED, StatusReport, TransactionStatus)
from bridge.settlement import (SettlementChange, by_original_message, follow_up_group_status,
                               transaction_status)
from bridge.reconciliation.statement_mints import mint_claim, minted_from_statement, statement_key_of
from bridge.translation import translate_message

log = structlog.get_logger("tokenbridge.pipeline")

ACCEPTED, PARTIAL, REJECTED_VERDICT, REFUSED = "accepted", "partial", "rejected", "refused"

OVERSIZED_KEPT_BYTES = 64 * 1024
"""Of an input refused for its size, the inbox keeps only this much (its digest covers it all):
hostile senders must not be able to fill the store."""

TRANSIENT_RETRIES = 5
"""Attempts at one message when the store reports a transient error (deadlock, lost
connection); back-off doubles from 50 ms. Beyond that the error goes to the caller."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """What the pipeline needs to know about the bank it runs for."""

    issuer_bic: str | None = None
    allowed_senders: frozenset[str] | None = None  # None: anyone may instruct
    reply_versions: Mapping[str, str] = field(default_factory=dict)  # overrides, pacs.008 -> pacs.002
    statement_senders: frozenset[str] | None = None  # None: the issuer (bridge.authorisation)

    @property
    def authority(self) -> Authority:
        return Authority(self.issuer_bic, self.allowed_senders, self.statement_senders)


@dataclass(frozen=True, slots=True)
class TransactionOutcome:
    index: int
    end_to_end_id: str | None
    uetr: str | None
    status: str  # ACSC, ACSP or RJCT
    operation: TokenOperation | None = None
    result: str | None = None  # applied, replayed, planned (dry run), or None when rejected
    reason: str | None = None
    info: str | None = None


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    digest: str
    verdict: str  # accepted, partial, rejected (answered RJCT), refused (no pacs.002 possible)
    message_type: str | None = None
    message_id: str | None = None
    transactions: tuple[TransactionOutcome, ...] = ()
    reply: OutboundMessage | None = None
    findings: tuple[Finding, ...] = ()
    summary: str = ""
    seen_before: bool = False  # answered from the inbox: the same bytes were handled before


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:30]}"  # 32 characters: fits Max35Text


class Pipeline:
    """Runs inbound messages to outcomes; needs a reader, a unit-of-work factory and the config."""

    def __init__(self, reader: MessageReader, unit_of_work: Callable[[], UnitOfWork],
                 config: BridgeConfig = BridgeConfig(),
                 is_transient: Callable[[BaseException], bool] = lambda _: False,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.reader = reader
        self.unit_of_work = unit_of_work
        self.config = config
        self.is_transient = is_transient
        self.clock = clock

    def handle(self, raw: bytes, *, dry_run: bool = False) -> MessageOutcome:
        """Process one message (or, with dry_run, show what it would do and change nothing)."""
        digest = hashlib.sha256(raw).hexdigest()
        read = self.reader.read(raw)
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                outcome = self._handle_once(raw, digest, read, dry_run)
                break
            except Exception as error:
                if not self.is_transient(error) or attempt == TRANSIENT_RETRIES:
                    raise
                log.warning("transient store error; retrying", attempt=attempt,
                            error=type(error).__name__)
                time.sleep(0.05 * 2 ** (attempt - 1))
        _log_outcome(outcome, dry_run)
        return outcome

    def handle_batch(self, raws: Sequence[bytes]) -> list[MessageOutcome | Exception]:
        """Process several messages in one unit of work: one commit (and one audit chain
        append) for all, each message still with its own inbox record, effects and reply, in
        order. If the unit fails (a deadlock, a bug on one message), it is rolled back whole
        and each message runs again on its own (`handle`): a result per message is then either
        its outcome or the exception it raised, for the caller to retry or dead-letter."""
        if len(raws) <= 1:
            return [self._handle_or_error(raw) for raw in raws]
        try:
            reads = [(raw, hashlib.sha256(raw).hexdigest(), self.reader.read(raw)) for raw in raws]
            with self.unit_of_work() as uow:
                claimed = uow.inbox.claim_many([digest for _, digest, _ in reads])
                self._prepare(uow, [read for _, digest, read in reads if digest in claimed])
                outcomes = []
                for raw, digest, read in reads:
                    fresh = digest in claimed  # a digest twice in the batch: the first is fresh
                    claimed.discard(digest)
                    outcomes.append(self._in_unit(uow, raw, digest, read, fresh))
                uow.commit()
        except Exception as error:  # noqa: BLE001 - each message is retried on its own below
            log.warning("batch rolled back; one message at a time", messages=len(raws),
                        error=type(error).__name__)
            return [self._handle_or_error(raw) for raw in raws]
        for outcome in outcomes:
            _log_outcome(outcome, False)
        return outcomes

    def _handle_or_error(self, raw: bytes) -> MessageOutcome | Exception:
        try:
            return self.handle(raw)
        except Exception as error:  # noqa: BLE001 - handed to the caller, per message
            return error

    def _handle_once(self, raw: bytes, digest: str, read: ReadMessage, dry_run: bool) -> MessageOutcome:
        with self.unit_of_work() as uow:
            if dry_run:
                return self._process(read, digest, uow, dry_run)  # leaving the unit rolls back
            outcome = self._in_unit(uow, raw, digest, read)
            uow.commit()
            return outcome

    def _prepare(self, uow: UnitOfWork, reads: Sequence[ReadMessage]) -> None:
        """Tell the ledger what a batch's payments will apply and look up, so that it can read
        their keys and balances in one go (Ledger.prepare)."""
        planned, lookups, references = [], [], []
        for read in reads:
            if not (read.message_type or "").startswith("pacs.008") or read.payload is None:
                continue
            for decided in translate_message(read.payload, uow.accounts.get, self.config.issuer_bic):
                if isinstance(decided, TokenOperation):
                    planned.append(decided)
                    if (ref := statement_key_of(decided)) is not None:
                        lookups.append(ref)
                    if (claim := mint_claim(decided, PAYMENT_ROAD)) is not None:
                        references.extend(claim.references)
        if planned:
            uow.ledger.prepare(planned, lookups, references)

    def _in_unit(self, uow: UnitOfWork, raw: bytes, digest: str, read: ReadMessage,
                 claimed: bool | None = None) -> MessageOutcome:
        """One message's work inside `uow`: claim (unless the caller did), process, record,
        queue the reply."""
        if not (uow.inbox.claim(digest) if claimed is None else claimed):
            return self._seen_before(uow, digest)
        outcome = self._process(read, digest, uow, False)
        uow.inbox.record(InboundRecord(
            digest=digest, received_at=self.clock(), message_type=read.message_type,
            message_id=outcome.message_id,
            business_message_id=read.header.business_message_id if read.header else None,
            sender=_sender(read), verdict=outcome.verdict, summary=outcome.summary,
            raw=raw if len(raw) <= self.reader.max_bytes else raw[:OVERSIZED_KEPT_BYTES],
            reply_id=outcome.reply.message_id if outcome.reply else None))
        if outcome.reply is not None:
            uow.outbox.add(outcome.reply)
        return outcome

    @staticmethod
    def _seen_before(uow: UnitOfWork, digest: str) -> MessageOutcome:
        record = uow.inbox.find(digest)
        if record is None:  # claimed by a unit that rolled back in between: let the caller retry
            raise RuntimeError("inbox claim vanished")
        reply = uow.outbox.get(record.reply_id) if record.reply_id else None
        return MessageOutcome(digest, record.verdict, record.message_type, record.message_id,
                              reply=reply, summary=record.summary, seen_before=True)

    # -- the steps -------------------------------------------------------------------------

    def _process(self, read: ReadMessage, digest: str, uow: UnitOfWork, dry_run: bool) -> MessageOutcome:
        family = (read.message_type or "")[:8]
        if family == "camt.053" and read.payload is not None and not read.findings:
            return self._reconcile(read, digest, uow, dry_run)
        if family != "pacs.008":
            what = read.message_type or "input"
            reason = (read.findings[0].message if read.findings
                      else f"{what} is not a payment instruction this pipeline applies")
            return MessageOutcome(digest, REFUSED, read.message_type, findings=tuple(read.findings),
                                  summary=f"refused: {reason}")
        message_id = _message_id(read)
        if message_id is None:
            return MessageOutcome(digest, REFUSED, read.message_type, findings=tuple(read.findings),
                                  summary="refused: no GrpHdr/MsgId to answer to")
        try:
            reply_version(read.message_type, self.config.reply_versions)
        except ValueError as exc:  # a pacs.008 version without a pacs.002 to answer in
            return MessageOutcome(digest, REFUSED, read.message_type, message_id,
                                  findings=tuple(read.findings), summary=f"refused: {exc}")
        rejection = _message_rejection(read) or authorise_instruction(read.payload, read.header,
                                                                      self.config.authority)
        if rejection is not None:
            transactions = _all_rejected(read.payload, rejection)
            return self._answer(read, digest, message_id, transactions, rejection)
        decisions = translate_message(read.payload, uow.accounts.get, self.config.issuer_bic)
        transactions = tuple(self._transaction(read, tx_index, decided, uow, dry_run)
                             for tx_index, decided in enumerate(decisions))
        return self._answer(read, digest, message_id, transactions, None)

    def _reconcile(self, read: ReadMessage, digest: str, uow: UnitOfWork, dry_run: bool) -> MessageOutcome:
        """A camt.053 is reconciled against the ledger (bridge.reconciliation.handler); its report,
        JSON, is the reply (`report.reconciliation`)."""
        message_id = read.payload.message_id
        problem = authorise_statement(read.payload, read.header, self.config.authority)
        if problem is not None:
            return MessageOutcome(digest, REFUSED, read.message_type, message_id,
                                  summary=f"refused: {problem}")
        done = handle_statement(
            read.payload, uow, apply=not dry_run, clock=self.clock,
            correlation_id=read.header.business_message_id if read.header else None)
        return MessageOutcome(digest, done.verdict, read.message_type, message_id, reply=done.reply,
                              summary=done.summary)

    def _transaction(self, read: ReadMessage, index: int, decided: TokenOperation | Rejection,
                     uow: UnitOfWork, dry_run: bool) -> TransactionOutcome:
        message: CreditTransferMessage = read.payload
        tx = message.transactions[index]
        ids = dict(index=index, end_to_end_id=tx.end_to_end_id, uetr=tx.uetr)
        finding = next((f for f in read.findings if f.transaction == index), None)
        if finding is not None:
            return TransactionOutcome(**ids, status=REJECTED, reason=finding.reason,
                                      info=finding.message)
        if isinstance(decided, Rejection):
            return TransactionOutcome(**ids, status=REJECTED, reason=decided.reason, info=decided.info)
        refused = authorise_operation(decided, tx, message, read.header, self.config.authority)
        if refused is not None:  # before apply, and in a dry run too
            return TransactionOutcome(**ids, status=REJECTED, reason=refused.reason, info=refused.info)
        if dry_run:
            return TransactionOutcome(**ids, status=ACCEPTED_SETTLEMENT_COMPLETED,
                                      operation=decided, result="planned")
        # A statement entry may have minted this payment already; a mint claims its payment's
        # references, so that a statement entry of it finds it
        # (bridge.reconciliation.statement_mints).
        applied = (minted_from_statement(uow.ledger, decided)
                   or uow.ledger.apply(decided, mint_claim(decided, PAYMENT_ROAD)))
        if applied.rejection is not None:
            return TransactionOutcome(**ids, status=REJECTED, operation=decided,
                                      reason=applied.rejection.reason, info=applied.rejection.info)
        return TransactionOutcome(**ids, status=applied.status, operation=decided,
                                  result=applied.result)

    def _answer(self, read: ReadMessage, digest: str, message_id: str,
                transactions: tuple[TransactionOutcome, ...],
                rejection: Rejection | None) -> MessageOutcome:
        statuses = {t.status for t in transactions}
        if rejection is not None or not transactions or statuses == {REJECTED}:
            group, verdict = REJECTED, REJECTED_VERDICT
        elif REJECTED in statuses:
            group, verdict = PARTIALLY_ACCEPTED, PARTIAL
        else:
            group = (ACCEPTED_SETTLEMENT_IN_PROCESS if ACCEPTED_SETTLEMENT_IN_PROCESS in statuses
                     else ACCEPTED_SETTLEMENT_COMPLETED)
            verdict = ACCEPTED
        reply = self._reply(read, message_id, transactions, group, rejection)
        rejected = [t for t in transactions if t.status == REJECTED]
        reasons = sorted({t.reason for t in rejected if t.reason} | ({rejection.reason} if rejection else set()))
        summary = (f"{group}: {len(transactions) - len(rejected)} of {len(transactions)} accepted"
                   + (f"; rejects {', '.join(reasons)}" if reasons else ""))
        return MessageOutcome(digest, verdict, read.message_type, message_id, transactions, reply,
                              tuple(read.findings), summary)

    def _reply(self, read: ReadMessage, message_id: str, transactions: tuple[TransactionOutcome, ...],
               group: str, rejection: Rejection | None) -> OutboundMessage:
        payload: CreditTransferMessage | None = read.payload
        by_index = {tx.index: tx for tx in payload.transactions} if payload else {}
        statuses = tuple(TransactionStatus(
            status=t.status, original_end_to_end_id=t.end_to_end_id,
            original_instruction_id=by_index[t.index].instruction_id if t.index in by_index else None,
            original_transaction_id=by_index[t.index].transaction_id if t.index in by_index else None,
            original_uetr=t.uetr, reason=t.reason, additional_info=t.info)
            for t in transactions)
        return self._status_report(read, message_id, statuses, group, rejection)

    def _status_report(self, read: ReadMessage, message_id: str,
                       statuses: tuple[TransactionStatus, ...], group: str | None,
                       rejection: Rejection | None = None) -> OutboundMessage:
        """A pacs.002 answering `read` (its version, header and parties) with `statuses`."""
        version = reply_version(read.message_type, self.config.reply_versions)
        payload: CreditTransferMessage | None = read.payload
        now = self.clock()
        report = StatusReport(
            message_id=_new_id("TB"), created_at=now, original_message_id=message_id,
            original_message_type=read.message_type, group_status=group,
            original_created_at=payload.group_header.created_at if payload else None,
            # The original's CreDtTm as written; of an unreadable message, as far as it can be found.
            original_created_at_text=(payload.group_header.created_at_text if payload
                                      else group_header_text(read.document, "CreDtTm")),
            group_reason=rejection.reason if rejection else None,
            group_additional_info=rejection.info if rejection else None,
            instructing_agent_bic=_reply_bic(self.config.issuer_bic),
            instructed_agent_bic=_reply_bic(_sender(read)),
            transactions=statuses)
        header = (reply_header(read.header, self.config.issuer_bic, version, _new_id("TB"), now)
                  if read.header is not None else None)  # else a bare Document answers
        body = write_reply(report, version, header, read.header.version if read.header else "head.001.001.02")
        correlation = (read.header.business_message_id if read.header else None) or message_id
        return OutboundMessage(report.message_id, correlation, version, body)

    # -- settlement after the answer ---------------------------------------------------------

    def report_settlement(self, changes: Sequence[SettlementChange], inbox: Inbox,
                          outbox: Outbox) -> list[OutboundMessage]:
        """Follow-up pacs.002s for operations that became final (ACSC or RJCT) after their
        pacs.008 was answered ACSP: one per original message, added to `outbox` in the caller's
        transaction (the one that records the changes). Changes with no pacs.008 to answer
        (minted from a statement) are logged only."""
        replies = []
        for message_id, group in by_original_message(changes).items():
            original = self._original(message_id, group, inbox)
            if original is None:
                log.info("settlement without a pacs.008 to answer", message_id=message_id,
                         keys=[c.key for c in group][:5], status=group[0].new_status)
                continue
            read, record = original
            reply = self._status_report(
                read, record.message_id, tuple(transaction_status(c) for c in group),
                follow_up_group_status(group, len(read.payload.transactions)))
            outbox.add(reply)
            replies.append(reply)
            log.info("settlement reported", message_id=message_id, reply_id=reply.message_id,
                     statuses=sorted({c.new_status for c in group}), transactions=len(group))
        return replies

    def _original(self, message_id: str | None, changes: Sequence[SettlementChange],
                  inbox: Inbox) -> tuple[ReadMessage, InboundRecord] | None:
        """The accepted pacs.008 that carried every one of `changes` (a MsgId alone may be
        reused by another sender), re-read from the inbox."""
        if not message_id:
            return None
        for record in inbox.by_message_id(message_id):
            if not (record.message_type or "").startswith("pacs.008") or record.verdict not in (ACCEPTED, PARTIAL):
                continue
            read = self.reader.read(record.raw)
            if read.payload is None:
                continue
            carried = {(t.end_to_end_id, t.transaction_id, t.uetr) for t in read.payload.transactions}
            if all((c.operation.refs.end_to_end_id, c.operation.refs.transaction_id,
                    c.operation.refs.uetr) in carried for c in changes):
                return read, record
        return None


def _log_outcome(outcome: MessageOutcome, dry_run: bool) -> None:
    """One line per message, its transactions included (one line each cost more than the
    ledger work of a single-transaction message)."""
    log.info("message", digest=outcome.digest[:16], message_type=outcome.message_type,
             message_id=outcome.message_id, outcome=outcome.verdict,
             seen_before=outcome.seen_before, dry_run=dry_run,
             reply_id=outcome.reply.message_id if outcome.reply else None,
             transactions=[{"end_to_end_id": tx.end_to_end_id, "uetr": tx.uetr,
                            "outcome": tx.status, "reason": tx.reason,
                            "operation": tx.operation.kind if tx.operation else None}
                           for tx in outcome.transactions])


_STRICT_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")


def _reply_bic(bic: str | None) -> str | None:
    """A BIC fit to copy into a reply: the strictest pattern of any pacs.002/head.001 version.
    An input's BIC may be anything (it may be why the input is rejected); the reply must stay
    schema-valid, so an unfit BIC is left out."""
    return bic if bic and _STRICT_BIC.fullmatch(bic) else None


def _message_id(read: ReadMessage) -> str | None:
    if read.payload is not None:
        return read.payload.group_header.message_id
    # Schema-invalid input, and a pacs.008.001.01 (validated, not applied), is still answered
    # when its MsgId can be found.
    found = group_header_text(read.document, "MsgId")
    return found[:35] if found else None


def _message_rejection(read: ReadMessage) -> Rejection | None:
    """The whole message is rejected when it is unreadable or breaks a message-level rule."""
    if read.payload is None or read.header_valid is False:
        first = read.findings[0] if read.findings else None
        return Rejection(first.reason if first else "FF01",
                         str(first) if first else "message could not be read")
    first = next((f for f in read.findings if f.transaction is None), None)
    return Rejection(first.reason, str(first)) if first else None


def _all_rejected(payload: CreditTransferMessage | None,
                  rejection: Rejection) -> tuple[TransactionOutcome, ...]:
    if payload is None:
        return ()
    return tuple(TransactionOutcome(tx.index, tx.end_to_end_id, tx.uetr, REJECTED,
                                    reason=rejection.reason, info=rejection.info)
                 for tx in payload.transactions)


def _instructing_bic(payload: CreditTransferMessage | None) -> str | None:
    if not isinstance(payload, CreditTransferMessage) or payload.group_header.instructing_agent is None:
        return None
    return payload.group_header.instructing_agent.bic


def _sender(read: ReadMessage) -> str | None:
    return (read.header.from_bic if read.header else None) or _instructing_bic(read.payload)
