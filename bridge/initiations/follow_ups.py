"""Follow-ups to a pain.001: a transaction that became final after its answer (a chain settled
it, or the holds scheduler executed it at its ReqdExctnDt) is told to the corporate with a
pain.002; a held burn's fiat leg leaves when the hold is executed, never before (a burn applied
at once sent its fiat leg with its answer)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bridge.codes import Status, Verdict
from bridge.config import BridgeConfig
from bridge.fx.exchange import is_credit_leg
from bridge.initiations.channels import channel_of, initiation_keys
from bridge.initiations.outgoing import fiat_leg_message
from bridge.initiations.replies import initiation_status_report
from bridge.iso.pain002 import initiation_reply_version
from bridge.iso.reader import MessageReader, ReadMessage
from bridge.messages import InboundRecord, OutboundMessage
from bridge.operations import BURN
from bridge.outcomes import TransactionOutcome
from bridge.payments.credit_transfer import CreditTransfer
from bridge.ports import Inbox
from bridge.settlement.changes import SettlementChange, follow_up_group_status

INITIATION_FAMILY = "pain.001"


def initiation_of(reader: MessageReader, message_id: str, changes: Sequence[SettlementChange],
                  inbox: Inbox) -> tuple[ReadMessage, InboundRecord, dict[str, CreditTransfer]] | None:
    """The accepted pain.001 whose transactions' keys are every one of `changes`' (a MsgId is
    unique per corporate only), re-read from the inbox, with its transactions by key."""
    for record in inbox.by_message_id(message_id):
        if (not (record.message_type or "").startswith(INITIATION_FAMILY)
                or record.verdict not in (Verdict.ACCEPTED, Verdict.PARTIAL)):
            continue
        read = reader.read(record.raw)
        if read.payload is None:
            continue
        keys = initiation_keys(read.payload, channel_of(read.header, read.payload))
        by_key = dict(zip(keys, read.payload.transactions, strict=True))
        if all(c.key in by_key for c in changes):
            return read, record, by_key
    return None


def initiation_follow_ups(read: ReadMessage, record: InboundRecord,
                          transactions: dict[str, CreditTransfer],
                          changes: Sequence[SettlementChange], config: BridgeConfig,
                          now: datetime) -> list[OutboundMessage]:
    """The follow-up pain.002 of `changes` (the pain.001's debit legs only), and the fiat leg of
    each held burn executed now."""
    changes = [c for c in changes if not is_credit_leg(c.key)]
    outcomes = tuple(TransactionOutcome(
        transactions[c.key].index, c.operation.refs.end_to_end_id, c.operation.refs.uetr,
        c.new_status, reason=c.reason, info=c.info) for c in changes)
    group = follow_up_group_status(changes, len(read.payload.transactions))
    version = initiation_reply_version(read.message_type, config.reply_versions)
    replies = [initiation_status_report(read, record.message_id, version, outcomes, group, None,
                                        config, now)]
    for change in changes:
        if (change.released and change.new_status == Status.ACCEPTED_SETTLEMENT_COMPLETED
                and change.operation.kind == BURN and config.issuer_bic):
            replies.append(fiat_leg_message(read, transactions[change.key], change.key,
                                            config.issuer_bic, now))
    return replies
