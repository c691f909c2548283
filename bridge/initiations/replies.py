"""The pain.002 customer payment status report answering a pain.001: its version, the status of
the group, of each payment information block and of each transaction, with ISO reasons. Written
with its AppHdr (to the corporate's channel, `OrgId`) by the payments' report_reply."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bridge.codes import Reason
from bridge.config import BridgeConfig
from bridge.initiations.initiation import PaymentInitiation
from bridge.initiations.report import InitiationStatusReport, PaymentInformationStatus
from bridge.iso.pain002 import initiation_reply_version, write_initiation_reply
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage, new_message_id
from bridge.operations import Rejection
from bridge.outcomes import MessageOutcome, TransactionOutcome, not_acted_on, refused
from bridge.payments.replies import group_status
from bridge.payments.replies import reply_bic, report_reply
from bridge.status import TransactionStatus


def answerable_initiation(read: ReadMessage, digest: str,
                          overrides: Mapping[str, str]) -> tuple[str, str] | MessageOutcome:
    """The MsgId a pain.002 answers and its version, or the refusal (an admi.002) when there is
    nothing to answer to: no MsgId (pain.001.001.01 has a GrpId), or no pain.002 version."""
    message_id = read.message_id
    if message_id is None:
        return (not_acted_on(read, digest) if read.findings
                else refused(read, digest, "no GrpHdr/MsgId to answer to"))
    try:
        return message_id, initiation_reply_version(read.message_type, overrides)
    except ValueError as exc:
        if read.findings:
            return not_acted_on(read, digest, message_id)
        return refused(read, digest, str(exc), message_id, code=Reason.TRANSACTION_NOT_SUPPORTED)


def initiation_status_report(read: ReadMessage, message_id: str, version: str,
                             transactions: Sequence[TransactionOutcome], group: str,
                             rejection: Rejection | None, config: BridgeConfig,
                             now: datetime) -> OutboundMessage:
    """The pain.002 of `version` answering `read` (MsgId `message_id`): `group` as GrpSts (with
    the reason of a message `rejection`), then each payment information block with its status
    and its transactions' `transactions` outcomes."""
    initiation: PaymentInitiation | None = read.payload
    by_index = {t.index: t for t in transactions}
    blocks = []
    for block in (initiation.payment_informations if initiation else ()):
        outcomes = [by_index[tx.index] for tx in block.transactions if tx.index in by_index]
        if not outcomes:  # a follow-up speaks of some transactions only
            continue
        statuses = tuple(TransactionStatus(
            status=t.status, original_end_to_end_id=t.end_to_end_id,
            original_instruction_id=tx.instruction_id, original_uetr=t.uetr,
            reason=t.reason, additional_info=t.info)
            for tx, t in zip((tx for tx in block.transactions if tx.index in by_index), outcomes))
        status = group_status(tuple(outcomes), rejection)[0]
        blocks.append(PaymentInformationStatus(block.payment_information_id, status, statuses))
    report = InitiationStatusReport(
        message_id=new_message_id(), created_at=now, original_message_id=message_id,
        original_message_type=read.message_type, group_status=group,
        original_created_at=initiation.group_header.created_at if initiation else None,
        original_created_at_text=read.created_at_text,
        group_reason=rejection.reason if rejection else None,
        group_additional_info=rejection.info if rejection else None,
        debtor_agent_bic=reply_bic(config.issuer_bic), payment_informations=tuple(blocks))
    return report_reply(read, message_id, report, version, config, now, write=write_initiation_reply)
