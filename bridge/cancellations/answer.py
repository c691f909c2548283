"""The camt.029 that answers a camt.056: its version, AppHdr and parties. The one place that
writes it, for the answer (bridge.cancellations.handler) and for the follow-up of a
cancellation a settlement round decided later (bridge.cancellations.follow_ups)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bridge.cancellations.request import CancellationRequestMessage
from bridge.cancellations.resolution import Resolution, TransactionResolution, confirmation_of
from bridge.config import BridgeConfig
from bridge.iso.apphdr import reply_header
from bridge.iso.camt029 import write_resolution_reply
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage, new_message_id
from bridge.parties import Agent
from bridge.payments.replies import OLDEST_HEADER, reply_bic


def resolution_reply(read: ReadMessage, version: str, transactions: tuple[TransactionResolution, ...],
                     config: BridgeConfig, now: datetime) -> OutboundMessage:
    """A camt.029 of `version` resolving the camt.056 `read` with `transactions`: with an AppHdr
    related to the request's where it had one, correlated to its BizMsgIdr or Assgnmt/Id."""
    request: CancellationRequestMessage = read.payload
    resolution = Resolution(
        message_id=new_message_id(), created_at=now, assigner_bic=reply_bic(config.issuer_bic),
        assignee=_fit(request.assigner), confirmation=confirmation_of([t.status for t in transactions]),
        request_id=request.assignment_id, request_type=read.message_type or request.message_type,
        request_created_at_text=request.created_at_text, case_id=request.case_id,
        case_creator=_fit(request.case_creator), transactions=transactions)
    header = (reply_header(read.header, config.issuer_bic, version, new_message_id(), now)
              if read.header is not None else None)  # else a bare Document answers
    if header is not None and not header.related_message_definition_id:
        header = replace(header, related_message_definition_id=resolution.request_type)
    body = write_resolution_reply(resolution, version, header,
                                  read.header.version if read.header else OLDEST_HEADER)
    correlation = (read.header.business_message_id if read.header else None) or request.assignment_id
    return OutboundMessage(resolution.message_id, correlation, version, body)


def _fit(agent: Agent | None) -> Agent | None:
    """An agent as a reply may repeat it: a BIC only when it fits every version's pattern."""
    if agent is None:
        return None
    return Agent(bic=reply_bic(agent.bic), member_id=agent.member_id)
