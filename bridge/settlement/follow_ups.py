"""Follow-up pacs.002s: a ledger that settles after the answer (a chain: ACSP when submitted)
reports each operation that became final (ACSC or RJCT); the original pacs.008 is told, once,
in the transaction that records the change (a pain.001 with a pain.002: bridge.initiations.follow_ups)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from bridge.codes import Verdict
from bridge.config import BridgeConfig
from bridge.fx.exchange import is_credit_leg
from bridge.initiations.follow_ups import initiation_follow_ups, initiation_of
from bridge.iso.pacs002 import reply_version
from bridge.iso.reader import MessageReader, ReadMessage
from bridge.messages import InboundRecord, OutboundMessage
from bridge.payments.replies import status_report
from bridge.ports import Inbox, Outbox
from bridge.payments.originals import PAYMENT_FAMILY
from bridge.settlement.changes import (SettlementChange, by_original_message, follow_up_group_status,
                                       transaction_status)

log = structlog.get_logger("tokenbridge.settlement")


class SettlementFollowUps:
    """Answers settlement changes with follow-up pacs.002s; wired by adapters.bootstrap into
    the settler of a ledger that settles after the answer."""

    def __init__(self, reader: MessageReader, config: BridgeConfig,
                 clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self.config = config
        self.clock = clock

    def report(self, changes: Sequence[SettlementChange], inbox: Inbox,
               outbox: Outbox) -> list[OutboundMessage]:
        """Follow-up pacs.002s for operations that became final (ACSC or RJCT) after their
        pacs.008 was answered ACSP: one per original message, added to `outbox` in the caller's
        transaction (the one that records the changes). Changes with no pacs.008 to answer
        (minted from a statement) are logged only."""
        replies = self.follow_ups(changes, inbox)
        for reply in replies:
            outbox.add(reply)
        return replies

    def follow_ups(self, changes: Sequence[SettlementChange], inbox: Inbox) -> list[OutboundMessage]:
        """The follow-up pacs.002s of `changes`, one per original message, not queued (a handler
        that cancels an operation emits its follow-up itself). A payment across currencies is
        told by its debit leg's change (its credit leg settles in the same chain transaction)."""
        replies = []
        changes = [c for c in changes if not is_credit_leg(c.key)]
        for message_id, group in by_original_message(changes).items():
            initiation = initiation_of(self.reader, message_id, group, inbox) if message_id else None
            if initiation is not None:  # a corporate's pain.001: a pain.002 (and held fiat legs)
                replies.extend(initiation_follow_ups(*initiation, group, self.config, self.clock()))
                continue
            original = self._original(message_id, group, inbox)
            if original is None:
                log.info("settlement without a pacs.008 to answer", message_id=message_id,
                         keys=[c.key for c in group][:5], status=group[0].new_status)
                continue
            read, record = original
            reply = status_report(
                read, record.message_id, reply_version(read.message_type, self.config.reply_versions),
                tuple(transaction_status(c) for c in group),
                follow_up_group_status(group, len(read.payload.transactions)), self.config, self.clock())
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
            if (not (record.message_type or "").startswith(PAYMENT_FAMILY)
                    or record.verdict not in (Verdict.ACCEPTED, Verdict.PARTIAL)):
                continue
            read = self.reader.read(record.raw)
            if read.payload is None:
                continue
            carried = {(t.end_to_end_id, t.transaction_id, t.uetr) for t in read.payload.transactions}
            if all((c.operation.refs.end_to_end_id, c.operation.refs.transaction_id,
                    c.operation.refs.uetr) in carried for c in changes):
                return read, record
        return None
