"""The message bus: every inbound message takes the same generic path, and its family's handler
(bridge.handlers) does the rest.

    read -> claim in the inbox -> handler (authorise, decide, apply, answer) -> record -> outbox
                                                                   (the reply, then what it emits)

The same bus serves `replay` (files, in-process) and the RabbitMQ worker. A message's effects,
its inbox record and its reply commit in one unit of work: all or nothing. A message seen
before (same bytes) is answered with the reply recorded the first time, with no new effect.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone

import structlog

from bridge.config import BridgeConfig
from bridge.handlers import HANDLERS
from bridge.inbound import Handler, Inbound
from bridge.iso.reader import MessageReader
from bridge.messages import InboundRecord
from bridge.notifications.ledger import settled_in
from bridge.notifications.notices import configured
from bridge.outcomes import MessageOutcome, not_acted_on
from bridge.ports import UnitOfWork
from bridge.iso.admi002 import MESSAGE_TYPE as REJECT_TYPE
from bridge.rejects import message_reject

log = structlog.get_logger("tokenbridge.bus")

OVERSIZED_KEPT_BYTES = 64 * 1024
"""Of an input refused for its size, the inbox keeps only this much (its digest covers it all):
hostile senders must not be able to fill the store."""

TRANSIENT_RETRIES = 5
"""Attempts at one message when the store reports a transient error (deadlock, lost
connection); back-off doubles from 50 ms. Beyond that the error goes to the caller."""


class TransientError(Exception):
    """A failure of the core's own that may not happen again: retry the message."""


class InboxClaimVanished(TransientError):
    """The inbox refused a claim but holds no record of it: the unit that claimed it rolled
    back in between. Another attempt claims it afresh."""


def family_of(message_type: str | None) -> str:
    """`pacs.008` of `pacs.008.001.08`: what handlers are registered by."""
    return (message_type or "")[:8]


class MessageBus:
    """Runs inbound messages to outcomes: reads, claims, dispatches each to the handler of its
    family (bridge.handlers.HANDLERS, built with `config` and `clock`), records, queues replies."""

    def __init__(self, reader: MessageReader, unit_of_work: Callable[[], UnitOfWork],
                 config: BridgeConfig = BridgeConfig(),
                 is_transient: Callable[[BaseException], bool] = lambda _: False,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 handlers: Mapping[str, Handler] | None = None) -> None:
        self.reader = reader
        self.unit_of_work = unit_of_work
        self.config = config
        self.store_is_transient = is_transient
        self.clock = clock
        self.handlers = (dict(handlers) if handlers is not None
                         else {family: make(config, clock) for family, make in HANDLERS.items()})
        self.notifications = configured(config, clock)

    def is_transient(self, error: BaseException) -> bool:
        """Whether `error` may not happen again: the store's transient errors, and the core's."""
        return isinstance(error, TransientError) or self.store_is_transient(error)

    def handle(self, raw: bytes, *, dry_run: bool = False) -> MessageOutcome:
        """Process one message (or, with dry_run, show what it would do and change nothing)."""
        message = self._inbound(raw)
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                outcome = self._handle_once(message, dry_run)
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
            messages = [self._inbound(raw) for raw in raws]
            with self.unit_of_work() as uow:
                claimed = uow.inbox.claim_many([m.digest for m in messages])
                self._prepare(uow, [m for m in messages if m.digest in claimed])
                outcomes = []
                for message in messages:
                    fresh = message.digest in claimed  # a digest twice in the batch: the first is fresh
                    claimed.discard(message.digest)
                    outcomes.append(self._in_unit(uow, message, fresh))
                uow.commit()
        except Exception as error:  # noqa: BLE001 - each message is retried on its own below
            log.warning("batch rolled back; one message at a time", messages=len(raws),
                        error=type(error).__name__)
            return [self._handle_or_error(raw) for raw in raws]
        for outcome in outcomes:
            _log_outcome(outcome, False)
        return outcomes

    def _inbound(self, raw: bytes) -> Inbound:
        return Inbound(raw, hashlib.sha256(raw).hexdigest(), self.reader.read(raw))

    def _handle_or_error(self, raw: bytes) -> MessageOutcome | Exception:
        try:
            return self.handle(raw)
        except Exception as error:  # noqa: BLE001 - handed to the caller, per message
            return error

    def _handle_once(self, message: Inbound, dry_run: bool) -> MessageOutcome:
        with self.unit_of_work() as uow:
            if dry_run:
                return self._dispatch(message, uow, dry_run)  # leaving the unit rolls back
            outcome = self._in_unit(uow, message)
            uow.commit()
            return outcome

    def _prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Each handler's work for all of a batch's fresh messages of its family at once."""
        for family, handler in self.handlers.items():
            mine = [m for m in messages if family_of(m.read.message_type) == family]
            if mine:
                handler.prepare(uow, mine)

    def _in_unit(self, uow: UnitOfWork, message: Inbound, claimed: bool | None = None) -> MessageOutcome:
        """One message's work inside `uow`: claim (unless the caller did), dispatch, record,
        queue the reply."""
        if not (uow.inbox.claim(message.digest) if claimed is None else claimed):
            return _seen_before(uow, message)
        outcome = self._dispatch_notifying(message, uow)
        read, raw = message.read, message.raw
        uow.inbox.record(InboundRecord(
            digest=message.digest, received_at=self.clock(), message_type=read.message_type,
            message_id=outcome.message_id,
            business_message_id=read.header.business_message_id if read.header else None,
            sender=read.sender, verdict=outcome.verdict, summary=outcome.summary,
            raw=raw if len(raw) <= self.reader.max_bytes else raw[:OVERSIZED_KEPT_BYTES],
            reply_id=outcome.reply.message_id if outcome.reply else None))
        if outcome.reply is not None:
            uow.outbox.add(outcome.reply)
        for emitted in outcome.emitted:
            uow.outbox.add(emitted)
        return outcome

    def _dispatch_notifying(self, message: Inbound, uow: UnitOfWork) -> MessageOutcome:
        """Dispatch, and notify (camt.054, emitted after the reply) every operation the
        handler settled, whichever handler it is: payments, statement mints, returns."""
        if self.notifications is None or family_of(message.read.message_type) not in self.handlers:
            return self._dispatch(message, uow, False)  # (a message no handler takes applies nothing)
        with settled_in(uow) as settled:
            outcome = self._dispatch(message, uow, False)
        if not settled:
            return outcome
        booked_at = self.clock()
        notices = self.notifications.of([(op, booked_at) for op in settled], uow.accounts)
        return replace(outcome, emitted=outcome.emitted + tuple(notices))

    def _dispatch(self, message: Inbound, uow: UnitOfWork, dry_run: bool) -> MessageOutcome:
        handler = self.handlers.get(family_of(message.read.message_type))
        outcome = (not_acted_on(message.read, message.digest) if handler is None
                   else handler.handle(message, uow, dry_run=dry_run))
        if (outcome.refusal is not None and outcome.reply is None
                and family_of(message.read.message_type) != family_of(REJECT_TYPE)):
            # Nothing of its own family answers it: an admi.002 says why (recorded and queued
            # like any reply, so a redelivery is answered the same). Never a reject of a
            # reject: two systems would answer each other for ever.
            outcome = replace(outcome, reply=message_reject(message, outcome, outcome.refusal,
                                                            self.clock(), self.config.issuer_bic))
        return outcome


def _seen_before(uow: UnitOfWork, message: Inbound) -> MessageOutcome:
    """The answer recorded for the same bytes, and the findings the reader makes of them again:
    so a poison message re-driven is dead-lettered again with its reason, whether it was
    answered with a pacs.002 (schema-invalid) or an admi.002 (not ISO 20022)."""
    record = uow.inbox.find(message.digest)
    if record is None:
        raise InboxClaimVanished(f"inbox claim of {message.digest[:16]} vanished: claimed by a unit "
                                 f"that rolled back")
    reply = uow.outbox.get(record.reply_id) if record.reply_id else None
    return MessageOutcome(message.digest, record.verdict, record.message_type, record.message_id,
                          reply=reply, findings=tuple(message.read.findings), summary=record.summary,
                          seen_before=True)


def _log_outcome(outcome: MessageOutcome, dry_run: bool) -> None:
    """One line per message, its transactions included (one line each cost more than the
    ledger work of a single-transaction message). Codes as plain strings: a console renders
    values nested in a list by their repr."""
    log.info("message", digest=outcome.digest[:16], message_type=outcome.message_type,
             message_id=outcome.message_id, outcome=outcome.verdict,
             seen_before=outcome.seen_before, dry_run=dry_run,
             reply_id=outcome.reply.message_id if outcome.reply else None,
             transactions=[{"end_to_end_id": tx.end_to_end_id, "uetr": tx.uetr,
                            "outcome": str(tx.status), "reason": tx.reason and str(tx.reason),
                            "operation": tx.operation.kind if tx.operation else None}
                           for tx in outcome.transactions])
