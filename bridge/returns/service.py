"""Returning a settled payment, in a unit of work: the reversal on the ledger, the running total
of what came back of the original, and (for a return the bank sends) the pacs.004 saying so.

Two entry points:

- `apply_return(uow, original, request)`: the effect of one return of `original` (a ledger
  operation): refused with its ISO reason and nothing changed, or the reversal applied (or
  replayed) and counted. The pacs.004 handler (bridge.returns.handler) calls it per transaction.
- `return_payment(uow, original, reason=..., amount=None, config=..., now=...)`: the return the
  bank makes of a payment it received (`tokenbridge return`; a cancellation the policy answers
  by returning): `apply_return`, then the outgoing pacs.004 in the original's version family,
  queued in `uow.outbox` in the same unit of work. The caller commits. The original is found
  with `bridge.payments.originals.find_original(OriginalRefs(...), msg_id, uow, reader)` (the
  references a camt.056 or an operator gives); `ReturnOutcome.refused`, `.reason` and `.message`
  say what came of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.codes import Reason, Status
from bridge.config import BridgeConfig
from bridge.iso.apphdr import reply_header
from bridge.iso.pacs004_writer import return_version, write_return_message
from bridge.messages import OutboundMessage, new_message_id
from bridge.money import Amount
from bridge.operations import PaymentRefs, TokenOperation
from bridge.parties import Agent
from bridge.payments.originals import Original
from bridge.payments.replies import OLDEST_HEADER, reply_bic
from bridge.ports import (APPLIED, REPLAYED, RETURN_BY_OPERATOR, RecordedOperation, ReturnEntry,
                          UnitOfWork)
from bridge.returns.return_message import (OriginalMessage, PaymentReturnMessage, ReturnedTransaction,
                                           ReturnReason)
from bridge.returns.reversal import return_key, reversal

PLANNED = "planned"  # a dry run: what the return would do


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """One return asked of an original: its identity (RtrId, or the pacs.004's MsgId and the
    transaction's position), how much (None: all that is left), in which currency (None: the
    original's), why, and who asks."""

    return_id: str
    reason: ReturnReason
    origin: str  # bridge.ports.RETURN_BY_MESSAGE or RETURN_BY_OPERATOR
    message_id: str | None  # the pacs.004 carrying it (received, or written by the bridge)
    amount: int | None = None  # minor units
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    """What a return came to: applied (ACSC, or ACSP until final), replayed, or refused (RJCT
    with its reason, nothing changed)."""

    status: Status
    original: RecordedOperation | None
    operation: TokenOperation | None = None  # the reversal
    result: str | None = None  # applied, replayed, planned; None when refused
    reason: str | None = None
    info: str | None = None
    returned: int = 0  # minor units returned of the original, this return included
    message: OutboundMessage | None = None  # the pacs.004 written (return_payment)

    @property
    def refused(self) -> bool:
        return self.status == Status.REJECTED

    @property
    def fully_returned(self) -> bool:
        return self.original is not None and self.returned >= self.original.operation.amount


def _refused(original: RecordedOperation | None, reason: str, info: str, returned: int = 0,
             operation: TokenOperation | None = None) -> ReturnOutcome:
    return ReturnOutcome(Status.REJECTED, original, operation, None, reason, info, returned)


def apply_return(uow: UnitOfWork, original: RecordedOperation | None, request: ReturnRequest, *,
                 dry_run: bool = False) -> ReturnOutcome:
    """Return (part of) `original` (None: the payment was never received, AG09). Refused, with
    nothing changed: never received or never settled (AG09), another currency (AM11), nothing
    left (ARDT), more than is left (AM09), a return id used before for other content (AM05),
    the wallet cannot cover it (AM04, the ledger's word)."""
    if original is None:
        return _refused(None, Reason.PAYMENT_NOT_RECEIVED, "no payment received with these references")
    paid = original.operation
    key = return_key(paid.key, request.return_id)
    known = uow.returns.find(key)
    if known is not None:  # the same return again: applied once
        same = known.original_key == paid.key and (request.amount is None or request.amount == known.amount)
        if not same:
            return _refused(original, Reason.DUPLICATION, f"return {request.return_id} was already "
                                                          f"applied with other content")
        recorded = uow.ledger.find(key)
        return ReturnOutcome(Status(recorded.status) if recorded else Status.ACCEPTED_SETTLEMENT_COMPLETED,
                             original, recorded.operation if recorded else None, REPLAYED,
                             returned=uow.returns.returned(paid.key))
    if original.status == Status.REJECTED:
        return _refused(original, Reason.PAYMENT_NOT_RECEIVED, "the original payment never settled")
    if request.currency is not None and request.currency != paid.currency:
        return _refused(original, Reason.INVALID_TRANSACTION_CURRENCY,
                        f"the return is in {request.currency}, the original in {paid.currency}")
    returned = uow.returns.returned(paid.key)
    left = paid.amount - returned
    if left <= 0:
        return _refused(original, Reason.ALREADY_RETURNED, "the original was already fully returned",
                        returned)
    amount = left if request.amount is None else request.amount
    if amount <= 0:
        return _refused(original, Reason.ZERO_AMOUNT, "a return moves a positive amount", returned)
    if amount > left:
        return _refused(original, Reason.WRONG_AMOUNT,
                        f"the return ({amount} minor units) is more than is left of the original "
                        f"({left} of {paid.amount})", returned)
    refs = PaymentRefs(message_id=request.message_id, end_to_end_id=paid.refs.end_to_end_id,
                       transaction_id=request.return_id[:35], uetr=paid.refs.uetr,
                       instruction_id=paid.refs.instruction_id)
    operation = reversal(paid, key, amount, refs)
    if dry_run:
        return ReturnOutcome(Status.ACCEPTED_SETTLEMENT_COMPLETED, original, operation, PLANNED,
                             returned=returned + amount)
    if not uow.returns.take(paid.key, amount, paid.amount):  # a concurrent return came first
        now_returned = uow.returns.returned(paid.key)
        full = now_returned >= paid.amount
        return _refused(original, Reason.ALREADY_RETURNED if full else Reason.WRONG_AMOUNT,
                        "the original was already fully returned" if full else
                        f"the return is more than is left of the original "
                        f"({paid.amount - now_returned} of {paid.amount})", now_returned)
    applied = uow.ledger.apply(operation)
    if applied.rejection is not None:
        uow.returns.release(paid.key, amount)
        return _refused(original, applied.rejection.reason, applied.rejection.info, returned, operation)
    uow.returns.record(ReturnEntry(key, paid.key, paid.currency, amount, request.reason.text,
                                   request.origin, request.message_id, request.return_id))
    return ReturnOutcome(Status(applied.status), original, operation,
                         APPLIED if applied.result == APPLIED else applied.result,
                         returned=returned + amount)


def return_payment(uow: UnitOfWork, original: Original, *, reason: ReturnReason, config: BridgeConfig,
                   now: datetime, amount: int | None = None, return_id: str | None = None,
                   queue: bool = True) -> ReturnOutcome:
    """The bank returns (part of) a payment it received: `amount` minor units (None: all that is
    left) for `reason`. Applied: the reversal is on the ledger and the pacs.004 (in the version
    RETURN_VERSIONS and `config.return_versions` give the original's, with an AppHdr related to
    the original's where it had one) is queued in `uow.outbox`, in the outcome's `message`.
    Refused: nothing changed, no message. The caller commits `uow`.

    `return_id` names a return asked for more than once (a cancellation request resent): the
    same id again replays, and no second pacs.004 is written. `queue=False` leaves queueing the
    pacs.004 to the caller (a handler emits it with its answer)."""
    message_id = new_message_id()
    request = ReturnRequest(return_id=return_id or message_id, reason=reason, origin=RETURN_BY_OPERATOR,
                            message_id=message_id, amount=amount)
    outcome = apply_return(uow, original.recorded, request)
    if outcome.refused or outcome.operation is None or outcome.result != APPLIED:
        return outcome
    message = outgoing_return(original, outcome.operation, message_id, reason, config, now)
    if queue:
        uow.outbox.add(message)
    return ReturnOutcome(outcome.status, outcome.original, outcome.operation, outcome.result,
                         returned=outcome.returned, message=message)


def outgoing_return(original: Original, operation: TokenOperation, message_id: str,
                    reason: ReturnReason, config: BridgeConfig, now: datetime) -> OutboundMessage:
    """The pacs.004 of `operation` (a reversal of `original`), from the bank to the original's
    sender."""
    version = return_version(original.message.message_type, config.return_versions)
    tx = original.transaction
    returned = ReturnedTransaction(
        index=0, return_id=message_id,
        original_message=OriginalMessage(original.message.group_header.message_id,
                                         original.message.message_type,
                                         original.message.group_header.created_at_text),
        instruction_id=tx.instruction_id, end_to_end_id=tx.end_to_end_id,
        transaction_id=tx.transaction_id, uetr=tx.uetr,
        returned=Amount.from_minor(operation.amount, operation.currency),
        original_amount=tx.amount, settlement_date=now.date(), reason=reason)
    issuer, sender = reply_bic(config.issuer_bic), reply_bic(original.read.sender)
    message = PaymentReturnMessage(
        message_type=version, message_id=message_id, created_at=now, created_at_text=None,
        instructing_agent=Agent(bic=issuer) if issuer else None,
        instructed_agent=Agent(bic=sender) if sender else None,
        original_message=None, transactions=(returned,))
    header = original.read.header
    app_header = (reply_header(header, config.issuer_bic, version, new_message_id(), now)
                  if header is not None else None)
    body = write_return_message(message, version, app_header,
                                header.version if header is not None else OLDEST_HEADER)
    correlation = (header.business_message_id if header else None) or original.message.group_header.message_id
    return OutboundMessage(message_id, correlation, version, body)
