"""pacs.028, a status request: authorise -> find each transaction's current status -> answer
with a pacs.002 (its version by the request's release, STATUS_REQUEST_REPLY_VERSIONS).

A question changes nothing: no ledger effect, nothing recorded beyond the bus's inbox record
and the reply. Asked again (other bytes), it is answered from the same state, so the same.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.codes import Reason, Status, Verdict
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.iso.reader import ReadMessage
from bridge.messages import new_message_id
from bridge.operations import Rejection
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.authorisation import Authority, authorise_senders
from bridge.payments.replies import answerable, reply_bic, report_reply
from bridge.ports import UnitOfWork
from bridge.status import StatusReport, TransactionStatus
from bridge.status_requests.lookup import CurrentStatus, current_status
from bridge.status_requests.request import OriginalGroup, StatusRequestMessage


class StatusRequests:
    """The pacs.028 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock
        self.reader = config.reader()  # re-reads originals from the inbox, with the bus's limits

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Nothing to prepare: a status request applies nothing."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        answer = answerable(read, digest, self.config.reply_versions)
        if isinstance(answer, MessageOutcome):
            return answer
        message_id, version = answer
        request: StatusRequestMessage | None = read.payload
        rejection = _message_rejection(read) or authorise_request(read, self.config.authority)
        if rejection is not None or request is None:
            rejection = rejection or Rejection(Reason.INVALID_FILE_FORMAT, "request could not be read")
            found = tuple(CurrentStatus(Status.REJECTED, rejection.reason, rejection.info, None,
                                        tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr)
                          for tx in (request.transactions if request else ()))
            return self._answer(read, digest, message_id, version, found, None, rejection)
        default = request.original_groups[0] if request.original_groups else None
        found = tuple(current_status(tx, tx.original_group or default, uow, self.reader)
                      for tx in request.transactions)
        group = next((f.original for f in found if f.original is not None), default)
        return self._answer(read, digest, message_id, version, found, group, None)

    def _answer(self, read: ReadMessage, digest: str, message_id: str, version: str,
                found: tuple[CurrentStatus, ...], original: OriginalGroup | None,
                rejection: Rejection | None) -> MessageOutcome:
        now = self.clock()
        # OrgnlGrpInfAndSts names the original payment; a request refused as a whole, or about
        # nothing found anywhere, is answered about the request itself.
        about_request = rejection is not None or original is None
        report = StatusReport(
            message_id=new_message_id(), created_at=now,
            original_message_id=message_id if about_request else original.message_id,
            original_message_type=read.message_type if about_request else original.message_type,
            original_created_at_text=read.created_at_text if about_request else original.created_at_text,
            group_status=Status.REJECTED if rejection is not None else None,
            group_reason=rejection.reason if rejection else None,
            group_additional_info=rejection.info if rejection else None,
            instructing_agent_bic=reply_bic(self.config.issuer_bic),
            instructed_agent_bic=reply_bic(read.sender),
            transactions=tuple(TransactionStatus(
                status=f.status, original_end_to_end_id=f.end_to_end_id,
                original_instruction_id=f.instruction_id, original_transaction_id=f.transaction_id,
                original_uetr=f.uetr, reason=f.reason, additional_info=f.info) for f in found))
        reply = report_reply(read, message_id, report, version, self.config, now)
        outcomes = tuple(TransactionOutcome(index, f.end_to_end_id, f.uetr, f.status,
                                            reason=f.reason, info=f.info)
                         for index, f in enumerate(found))
        counts = {s: sum(1 for f in found if f.status == s) for s in dict.fromkeys(f.status for f in found)}
        summary = ("status request: " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "no transactions")
                   + (f"; refused {rejection.reason}" if rejection else ""))
        verdict = Verdict.REJECTED if rejection is not None else Verdict.ACCEPTED
        return MessageOutcome(digest, verdict, read.message_type, message_id, outcomes, reply,
                              tuple(read.findings), summary)


def authorise_request(read: ReadMessage, authority: Authority) -> Rejection | None:
    """Who may ask: as for a payment (bridge.payments.authorisation), the sender (AppHdr `Fr`)
    and the instructing agents must be allowed to instruct, and the request addressed to us.
    A status tells nothing a payment's sender was not answered already; other banks may ask."""
    request: StatusRequestMessage = read.payload
    parties = [("AppHdr/Fr", read.header.from_bic)] if read.header is not None else []
    agents = ([("GrpHdr/InstgAgt", request.instructing_agent)]
              + [(f"TxInf[{tx.index + 1}]/InstgAgt", tx.instructing_agent) for tx in request.transactions])
    parties += [(where, agent.bic) for where, agent in agents if agent is not None]
    return authorise_senders(parties, read.header, authority, may="ask")


def _message_rejection(read: ReadMessage) -> Rejection | None:
    """The whole request is refused when it is unreadable (FF01, or its first finding's reason)."""
    if read.payload is None or read.header_valid is False or read.findings:
        first = read.findings[0] if read.findings else None
        return Rejection(first.reason if first else Reason.INVALID_FILE_FORMAT,
                         str(first) if first else "request could not be read")
    return None
