"""camt.056, a cancellation request: authorise -> per transaction find the original, cancel it
where it is not final yet -> answer with a camt.029 (its version by the request's release,
bridge.iso.camt029.REPLY_VERSIONS).

Per transaction (the original found as a status request finds it, bridge.status_requests.lookup):
- not final yet: the ledger cancels it (`Ledger.cancel`) so that it never takes effect: ACCR,
  and the original pacs.008 gets its follow-up pacs.002 (RJCT DS02), emitted with the answer;
  where only the settlement can tell (a submitted chain transaction): PDCR, and a settlement
  round sends both follow-ups (bridge.cancellations.follow_ups);
- final: RJCR AGNT under the policy `refuse` (the default); under `return`
  (`BridgeConfig.return_on_cancellation`) it is returned (bridge.returns.service, reason FOCR):
  ACCR saying so, and the pacs.004 emitted with the answer (a return refused: RJCR with its
  reason, ARDT when nothing is left); asked again, the same return replays, no second pacs.004;
- rejected, never applied: RJCR AGNT; not received: RJCR NOOR; not its sender's: RJCR AGNT.
Asked again (another camt.056, same original): the same answer, nothing cancelled twice and no
second follow-up. The same bytes again are answered from the inbox by the bus.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.cancellations.answer import resolution_reply
from bridge.cancellations.request import CancellationRequestMessage, TransactionCancellation
from bridge.cancellations.resolution import TransactionResolution
from bridge.codes import CancellationRejection, CancellationStatus, Reason, Status, Verdict
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.iso.camt029 import reply_version
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage
from bridge.operations import Rejection
from bridge.outcomes import MessageOutcome, TransactionOutcome, not_acted_on, refused
from bridge.parties import same_institution
from bridge.payments.authorisation import authorise_senders
from bridge.ports import CANCEL_PENDING, CANCELLED, FINAL, UnitOfWork
from bridge.settlement.changes import SettlementChange
from bridge.settlement.follow_ups import SettlementFollowUps
from bridge.payments.originals import OriginalRefs
from bridge.payments.originals import find_original as find_received
from bridge.returns.return_message import ReturnReason
from bridge.returns.service import return_payment
from bridge.status_requests.lookup import FoundOriginal, find_original

REFUSE, RETURN = "refuse", "return"
CANCELLATION_POLICIES = (REFUSE, RETURN)
"""What a cancellation of a settled payment gets: refused (RJCR), or returned (pacs.004)."""

_ACCR, _RJCR, _PDCR = CancellationStatus.ACCEPTED, CancellationStatus.REJECTED, CancellationStatus.PENDING


class Cancellations:
    """The camt.056 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock
        self.reader = config.reader()  # re-reads originals from the inbox
        self.follow_ups = SettlementFollowUps(self.reader, config, clock)

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Nothing to prepare: each cancellation looks its original up on its own."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        message_id = read.message_id
        if message_id is None:
            return refused(read, digest, "no Assgnmt/Id to answer to")
        try:
            version = reply_version(read.message_type or "", self.config.reply_versions)
        except ValueError as exc:
            if read.findings:
                return not_acted_on(read, digest, message_id)
            return refused(read, digest, str(exc), message_id, code=Reason.TRANSACTION_NOT_SUPPORTED)
        request: CancellationRequestMessage | None = read.payload
        if request is None or read.findings or read.header_valid is False:
            return not_acted_on(read, digest, message_id)  # no camt.029 can say what: an admi.002
        rejection = authorise_request(read, self.config)
        changes: list[SettlementChange] = []
        returns: list[OutboundMessage] = []  # pacs.004s of settled payments returned on request
        resolved = tuple(self._resolve(tx, read, digest, uow, rejection, dry_run, changes, returns)
                         for tx in request.transactions)
        reply = resolution_reply(read, version, resolved, self.config, self.clock())
        emitted = (tuple(self.follow_ups.follow_ups(changes, uow.inbox)) if changes else ()) + tuple(returns)
        return _outcome(read, digest, message_id, resolved, reply, emitted)

    def _resolve(self, tx: TransactionCancellation, read: ReadMessage, digest: str, uow: UnitOfWork,
                 rejection: Rejection | None, dry_run: bool, changes: list[SettlementChange],
                 returns: list[OutboundMessage]) -> TransactionResolution:
        named = dict(instruction_id=tx.instruction_id, end_to_end_id=tx.end_to_end_id,
                     transaction_id=tx.transaction_id, uetr=tx.uetr, original_group=tx.original_group)
        if rejection is not None:
            return TransactionResolution(_RJCR, **named, reason=CancellationRejection.AGENT_DECISION,
                                         info=f"{rejection.reason} {rejection.info}")
        found = find_original(tx, tx.original_group, uow, self.reader)
        if found is None:
            return TransactionResolution(_RJCR, **named, reason=CancellationRejection.NO_ORIGINAL,
                                         info="no payment received with these references")
        current = found.current
        named = dict(instruction_id=current.instruction_id, end_to_end_id=current.end_to_end_id,
                     transaction_id=current.transaction_id, uetr=current.uetr,
                     original_group=current.original or tx.original_group)
        if found.sender and read.sender and not same_institution(found.sender, read.sender):
            return TransactionResolution(_RJCR, **named, reason=CancellationRejection.AGENT_DECISION,
                                         info=f"only the payment's sender ({found.sender}) may cancel it")
        if found.answered_rejected or found.key is None:
            return TransactionResolution(_RJCR, **named, reason=CancellationRejection.AGENT_DECISION,
                                         info=f"the payment was rejected ({current.status} {current.reason}): "
                                              "nothing to cancel")
        if dry_run:  # what it would come to, from the current status; nothing asked of the ledger
            final = current.status == Status.ACCEPTED_SETTLEMENT_COMPLETED
            if final and self.config.return_on_cancellation:
                return TransactionResolution(_ACCR, **named, info="dry run: settled; would be returned (pacs.004)")
            return (self._final(named) if final else
                    TransactionResolution(_PDCR, **named, info="dry run: would be cancelled if not final"))
        # The request's digest: a settlement round that decides later finds it in the inbox.
        outcome = uow.ledger.cancel(found.key, digest)
        if outcome.result == FINAL and self.config.return_on_cancellation:
            return self._return(found, named, read, uow, returns)
        return self._after(outcome.result, outcome.first, found, named, uow, changes)

    def _return(self, found: FoundOriginal, named: dict, read: ReadMessage, uow: UnitOfWork,
                returns: list[OutboundMessage]) -> TransactionResolution:
        """The policy `return`: a settled payment asked to be cancelled is returned in full,
        once per original whatever the number of requests (one return id per original)."""
        refs = OriginalRefs(named["instruction_id"], named["end_to_end_id"], named["transaction_id"],
                            named["uetr"])
        group = named["original_group"]
        original = find_received(refs, group.message_id if group else None, uow, self.reader)
        if original is None or original.recorded is None:
            return self._final(named)
        done = return_payment(uow, original, reason=ReturnReason(
            code="FOCR", info=f"following cancellation request {read.message_id}"),
            config=self.config, now=self.clock(), return_id=f"cxl:{found.key}", queue=False)
        if done.refused:
            code = (CancellationRejection.ALREADY_RETURNED if done.reason == Reason.ALREADY_RETURNED
                    else CancellationRejection.INSUFFICIENT_FUNDS if done.reason == Reason.INSUFFICIENT_FUNDS
                    else CancellationRejection.AGENT_DECISION)
            return TransactionResolution(_RJCR, **named, reason=code,
                                         info=f"settled; returning it was refused: {done.reason} {done.info}")
        if done.message is not None:
            returns.append(done.message)
            return TransactionResolution(_ACCR, **named, info=f"settled: returned with pacs.004 "
                                                              f"{done.message.message_id}")
        return TransactionResolution(_ACCR, **named, info="settled: returned (pacs.004) on an earlier request")

    def _after(self, result: str, first: bool, found: FoundOriginal, named: dict, uow: UnitOfWork,
               changes: list[SettlementChange]) -> TransactionResolution:
        if result == CANCELLED:
            recorded = uow.ledger.find(found.key)
            if first and recorded is not None:
                changes.append(SettlementChange(
                    found.key, recorded.operation, Status.ACCEPTED_SETTLEMENT_IN_PROCESS, Status.REJECTED,
                    Reason.ORDER_CANCELLED, "cancelled on request (camt.056) before it took effect"))
            return TransactionResolution(_ACCR, **named, info="cancelled: it never takes effect")
        if result == CANCEL_PENDING:
            return TransactionResolution(_PDCR, **named, info="cancellation asked of the ledger; the "
                                                              "outcome follows in another camt.029")
        if result == FINAL:
            return self._final(named)
        return TransactionResolution(_RJCR, **named, reason=CancellationRejection.AGENT_DECISION,
                                     info="the payment was rejected: nothing to cancel")

    def _final(self, named: dict) -> TransactionResolution:
        return TransactionResolution(_RJCR, **named, reason=CancellationRejection.AGENT_DECISION,
                                     info="settled and final on the ledger: it can be returned "
                                          "(pacs.004), not cancelled")


def authorise_request(read: ReadMessage, config: BridgeConfig) -> Rejection | None:
    """Who may ask: as for a payment (bridge.payments.authorisation), the sender (AppHdr `Fr`)
    and the assigner must be allowed to instruct, and the request addressed to us. Each
    original is then cancelled only for its own sender (`_resolve`)."""
    request: CancellationRequestMessage = read.payload
    parties = [("AppHdr/Fr", read.header.from_bic)] if read.header is not None else []
    if request.assigner is not None and request.assigner.bic:
        parties.append(("Assgnmt/Assgnr/Agt", request.assigner.bic))
    return authorise_senders(parties, read.header, config.authority, may="cancel")


def _outcome(read: ReadMessage, digest: str, message_id: str,
             resolved: tuple[TransactionResolution, ...], reply: OutboundMessage,
             emitted: tuple[OutboundMessage, ...]) -> MessageOutcome:
    statuses = [t.status for t in resolved]
    outcomes = tuple(TransactionOutcome(index, t.end_to_end_id, t.uetr, t.status, reason=t.reason,
                                        info=t.info) for index, t in enumerate(resolved))
    if all(s == _RJCR for s in statuses):  # none named (a whole-group cancellation): rejected too
        verdict = Verdict.REJECTED
    elif _RJCR in statuses:
        verdict = Verdict.PARTIAL
    else:
        verdict = Verdict.ACCEPTED
    counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    summary = "cancellation request: " + (", ".join(f"{n} {s}" for s, n in counts.items())
                                          or "no transactions named (a group cancellation is not supported)")
    return MessageOutcome(digest, verdict, read.message_type, message_id, outcomes, reply,
                          tuple(read.findings), summary, emitted=emitted)
