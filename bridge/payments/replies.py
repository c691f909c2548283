"""The pacs.002 status report that answers a pacs.008 (or a pacs.004): its version, AppHdr and
parties. The one place that writes them, for the answer (bridge.payments.handler,
bridge.returns.handler) and for the follow-ups of a settlement that finished later
(bridge.settlement.follow_ups)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from bridge.codes import Reason, Status, Verdict
from bridge.config import BridgeConfig
from bridge.iso.apphdr import reply_header
from bridge.iso.pacs002 import reply_version, write_reply
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage, new_message_id
from bridge.operations import Rejection
from bridge.outcomes import MessageOutcome, TransactionOutcome, not_acted_on, refused
from bridge.payments.credit_transfer import CreditTransferMessage
from bridge.status import StatusReport, TransactionStatus

_STRICT_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")

OLDEST_HEADER = "head.001.001.02"
"""The AppHdr version of a reply to a message that came without one (a bare Document)."""


def answerable(read: ReadMessage, digest: str,
               overrides: Mapping[str, str]) -> tuple[str, str] | MessageOutcome:
    """The MsgId a pacs.002 answers and the version it is written in, or the refusal when there
    is nothing to answer to (no MsgId) or no pacs.002 version to answer in."""
    message_id = read.message_id
    if message_id is None:
        return refused(read, digest, "no GrpHdr/MsgId to answer to")
    try:
        return message_id, reply_version(read.message_type, overrides)
    except ValueError as exc:
        if read.findings:  # a version without its XSD here: that is what the sender must learn
            return not_acted_on(read, digest, message_id)
        return refused(read, digest, str(exc), message_id, code=Reason.TRANSACTION_NOT_SUPPORTED)


def transaction_statuses(read: ReadMessage,
                         transactions: Sequence[TransactionOutcome]) -> tuple[TransactionStatus, ...]:
    """Each transaction's outcome as the pacs.002 reports it, with the original's references."""
    payload: CreditTransferMessage | None = read.payload
    by_index = {tx.index: tx for tx in payload.transactions} if payload else {}
    return tuple(TransactionStatus(
        status=t.status, original_end_to_end_id=t.end_to_end_id,
        original_instruction_id=by_index[t.index].instruction_id if t.index in by_index else None,
        original_transaction_id=by_index[t.index].transaction_id if t.index in by_index else None,
        original_uetr=t.uetr, reason=t.reason, additional_info=t.info)
        for t in transactions)


def status_report(read: ReadMessage, message_id: str, version: str,
                  statuses: tuple[TransactionStatus, ...], group: str | None,
                  config: BridgeConfig, now: datetime,
                  rejection: Rejection | None = None) -> OutboundMessage:
    """A pacs.002 of `version` answering `read` (MsgId `message_id`) with `statuses`, and
    `group` as its GrpSts (None: it reports on some transactions only)."""
    payload = read.payload
    report = StatusReport(
        message_id=new_message_id(), created_at=now, original_message_id=message_id,
        original_message_type=read.message_type, group_status=group,
        original_created_at=(payload.group_header.created_at if isinstance(payload, CreditTransferMessage)
                             else getattr(payload, "created_at", None)),
        # The original's CreDtTm as written; of an unreadable message, as far as it can be found.
        original_created_at_text=read.created_at_text,
        group_reason=rejection.reason if rejection else None,
        group_additional_info=rejection.info if rejection else None,
        instructing_agent_bic=reply_bic(config.issuer_bic),
        instructed_agent_bic=reply_bic(read.sender),
        transactions=statuses)
    return report_reply(read, message_id, report, version, config, now)


def report_reply(read: ReadMessage, message_id: str, report: StatusReport, version: str,
                 config: BridgeConfig, now: datetime) -> OutboundMessage:
    """`report` written as a pacs.002 of `version` answering `read` (MsgId `message_id`): with an
    AppHdr related to the input's where it had one, correlated to its BizMsgIdr or MsgId."""
    header = (reply_header(read.header, config.issuer_bic, version, new_message_id(), now)
              if read.header is not None else None)  # else a bare Document answers
    body = write_reply(report, version, header, read.header.version if read.header else OLDEST_HEADER)
    correlation = (read.header.business_message_id if read.header else None) or message_id
    return OutboundMessage(report.message_id, correlation, version, body)


def reply_bic(bic: str | None) -> str | None:
    """A BIC fit to copy into a reply: the strictest pattern of any pacs.002/head.001 version.
    An input's BIC may be anything (it may be why the input is rejected); the reply must stay
    schema-valid, so an unfit BIC is left out."""
    return bic if bic and _STRICT_BIC.fullmatch(bic) else None


def group_status(transactions: tuple[TransactionOutcome, ...],
                 rejection: Rejection | None) -> tuple[Status, Verdict]:
    """The pacs.002 GrpSts of an answer to an instruction (pacs.008, pacs.004), and the
    message's verdict."""
    statuses = {t.status for t in transactions}
    if rejection is not None or not transactions or statuses == {Status.REJECTED}:
        return Status.REJECTED, Verdict.REJECTED
    if Status.REJECTED in statuses:
        return Status.PARTIALLY_ACCEPTED, Verdict.PARTIAL
    if Status.ACCEPTED_SETTLEMENT_IN_PROCESS in statuses:
        return Status.ACCEPTED_SETTLEMENT_IN_PROCESS, Verdict.ACCEPTED
    return Status.ACCEPTED_SETTLEMENT_COMPLETED, Verdict.ACCEPTED


def message_rejection(read: ReadMessage) -> Rejection | None:
    """The whole message is rejected when it is unreadable or breaks a message-level rule."""
    if read.payload is None or read.header_valid is False:
        first = read.findings[0] if read.findings else None
        return Rejection(first.reason if first else Reason.INVALID_FILE_FORMAT,
                         str(first) if first else "message could not be read")
    first = next((f for f in read.findings if f.transaction is None), None)
    return Rejection(first.reason, str(first)) if first else None
