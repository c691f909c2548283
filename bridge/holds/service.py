"""Holds as payments: which payments are held, and how each ends, with its follow-up pacs.002.

- `hold_terms`: a transaction settling later (value date in the future) or on a condition
  (a hashlock) is held instead of applied;
- `release`: a conditional payment executed on its fulfilment (the preimage of its hashlock;
  a wrong one changes nothing and is counted), or by an operator with a reason;
- `void`: voided by an operator with a reason (RJCT, MS03 unless told);
- `run_due`: the scheduler's round: value-dated holds whose date has begun are executed
  (ACSC), conditional ones past their expiry voided (RJCT AB03).
Each ending is answered with a follow-up pacs.002 to the original pacs.008, in the same unit of
work (bridge.settlement.follow_ups), so it is neither lost nor sent twice; an execution the
ledger answers ACSP (EVM: settling on chain) is reported by the settlement's follow-up instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.codes import Reason, Status
from bridge.holds.conditions import fulfils
from bridge.holds.terms import Hold, HoldEnding, HoldKind, HoldState, HoldTerms
from bridge.holds.value_dating import settles_later
from bridge.messages import OutboundMessage
from bridge.operations import Rejection
from bridge.payments.credit_transfer import CreditTransfer
from bridge.ports import PAYMENT_ROAD, LedgerOutcome, UnitOfWork
from bridge.reconciliation.statement_mints import mint_claim
from bridge.settlement.changes import SettlementChange
from bridge.settlement.follow_ups import SettlementFollowUps

SCHEDULE = "schedule"  # who ends a hold whose terms ran out


def hold_terms(tx: CreditTransfer, now: datetime, timezone: str) -> HoldTerms | Rejection | None:
    """Whether a credit transfer is held rather than applied now, and until when: a condition
    (bridge.holds.conditions) holds it until its expiry; a settlement date after today (in the
    bank's time zone) until the start of that date. Both at once, or a condition unusable or
    expired, is refused. None: it settles now."""
    if tx.condition_problem is not None:
        return Rejection(Reason.INVALID_FILE_FORMAT, tx.condition_problem)
    starts = settles_later(tx.settlement_date, now, timezone)
    if tx.condition is not None:
        if starts is not None:
            return Rejection(Reason.TRANSACTION_NOT_SUPPORTED, "a conditional payment with a future "
                                                               "settlement date is not supported")
        if tx.condition.expiry <= now:
            return Rejection(Reason.INVALID_DATE, f"the condition expired at {tx.condition.expiry.isoformat()}")
        return HoldTerms(HoldKind.CONDITIONAL, tx.condition.expiry, tx.condition.sha256)
    if starts is not None:
        return HoldTerms(HoldKind.VALUE_DATED, starts)
    return None


@dataclass(frozen=True, slots=True)
class HoldAction:
    """What a release or a void came to: `done` (the hold ended now as asked), else refused
    with an ISO-like reason and a sentence; the follow-ups it queued."""

    done: bool
    hold: Hold | None
    reason: str | None = None
    info: str = ""
    state: HoldState | None = None  # how the hold ended (a release refused by the ledger: voided)
    emitted: tuple[OutboundMessage, ...] = ()


def holds_named(ref: str, uow: UnitOfWork) -> list[Hold]:
    """The holds a reference names: the payment's key, UETR, `MSGID/E2EID` or EndToEndId."""
    ref = ref.strip()
    found = []
    for held in uow.ledger.holds():
        refs = held.operation.refs
        if ref in (held.key, refs.uetr, refs.end_to_end_id, f"{refs.message_id}/{refs.end_to_end_id}"):
            found.append(held)
    return found


def end(uow: UnitOfWork, held: Hold, ending: HoldEnding, follow_ups: SettlementFollowUps,
        info: str | None = None) -> tuple[LedgerOutcome | None, tuple[OutboundMessage, ...]]:
    """End one hold on the ledger and queue its follow-up pacs.002 (ACSC executed, RJCT voided)
    in this unit of work. (None, ()) when it was ended meanwhile (another worker, a release)."""
    outcome = uow.ledger.end_hold(held.key, ending, mint_claim(held.operation, PAYMENT_ROAD))
    if outcome is None:
        return None, ()
    if (ending.state == HoldState.EXECUTED and outcome.rejection is None
            and outcome.status == Status.ACCEPTED_SETTLEMENT_IN_PROCESS):
        return outcome, ()  # settling (EVM): the settlement's confirmation reports ACSC
    if ending.state == HoldState.EXECUTED and outcome.rejection is None:
        change = SettlementChange(held.key, held.operation, Status.ACCEPTED_SETTLEMENT_IN_PROCESS,
                                  Status.ACCEPTED_SETTLEMENT_COMPLETED, settled_at=ending.at,
                                  released=True)
    else:
        reason = outcome.rejection.reason if outcome.rejection else ending.reason
        why = outcome.rejection.info if outcome.rejection else info
        change = SettlementChange(held.key, held.operation, Status.ACCEPTED_SETTLEMENT_IN_PROCESS,
                                  Status.REJECTED, reason, why, settled_at=ending.at)
    return outcome, tuple(follow_ups.report([change], uow.inbox, uow.outbox))


def release(uow: UnitOfWork, held: Hold, *, now: datetime, follow_ups: SettlementFollowUps,
            fulfilment: str | None = None, operator: str | None = None,
            reason: str | None = None) -> HoldAction:
    """Execute a held payment on request: with the fulfilment of its hashlock, or by an
    operator (`operator` names who) with a reason. A wrong fulfilment changes nothing but the
    hold's count of them (the caller commits it)."""
    if held.state != HoldState.HELD:
        return HoldAction(False, held, "ENDED", f"the hold was {held.state} already")
    if fulfilment is not None:
        if held.terms.sha256 is None:
            return HoldAction(False, held, "NOCOND", "the payment has no condition to fulfil; an "
                                                     "operator may release it with a reason")
        if not fulfils(held.terms.sha256, fulfilment):
            uow.ledger.count_wrong_fulfilment(held.key)
            return HoldAction(False, held, "WRONG", "the fulfilment does not hash to the condition")
        by, why = "fulfilment", "condition fulfilled"
    elif operator is not None and reason:
        by, why = f"operator:{operator}", reason
    else:
        return HoldAction(False, held, "USAGE", "a release needs the fulfilment, or an operator's reason")
    outcome, emitted = end(uow, held, HoldEnding(HoldState.EXECUTED, why, by, now), follow_ups)
    if outcome is None:
        return HoldAction(False, held, "ENDED", "the hold ended meanwhile")
    if outcome.rejection is not None:
        return HoldAction(False, held, outcome.rejection.reason, f"executing it was refused, so it "
                          f"was voided: {outcome.rejection.info}", HoldState.VOIDED, emitted)
    return HoldAction(True, held, state=HoldState.EXECUTED, info=why, emitted=emitted)


def void(uow: UnitOfWork, held: Hold, *, now: datetime, follow_ups: SettlementFollowUps,
         operator: str, reason: str, code: str = Reason.NOT_SPECIFIED_AGENT) -> HoldAction:
    """Void a held payment on an operator's word (RJCT `code`, the reason as its information)."""
    if held.state != HoldState.HELD:
        return HoldAction(False, held, "ENDED", f"the hold was {held.state} already")
    outcome, emitted = end(uow, held, HoldEnding(HoldState.VOIDED, code, f"operator:{operator}", now),
                           follow_ups, info=reason)
    if outcome is None:
        return HoldAction(False, held, "ENDED", "the hold ended meanwhile")
    return HoldAction(True, held, state=HoldState.VOIDED, info=reason, emitted=emitted)


def run_due(uow: UnitOfWork, now: datetime, follow_ups: SettlementFollowUps) -> list[OutboundMessage]:
    """The scheduler's round over holds whose terms ran out by `now`: value-dated ones executed
    (their date has begun), conditional ones voided (RJCT AB03). Each once, even with several
    workers (end_hold locks the hold and ends only a held one); the caller commits."""
    emitted: list[OutboundMessage] = []
    for held in uow.ledger.holds(HoldState.HELD, ends_before=now):
        if held.terms.kind == HoldKind.VALUE_DATED:
            ending = HoldEnding(HoldState.EXECUTED, "value date reached", SCHEDULE, now)
            info = None
        else:
            ending = HoldEnding(HoldState.VOIDED, Reason.SETTLEMENT_TIMEOUT, SCHEDULE, now)
            info = f"condition not fulfilled by its expiry {held.terms.expiry.isoformat()}"
        emitted.extend(end(uow, held, ending, follow_ups, info)[1])
    return emitted
