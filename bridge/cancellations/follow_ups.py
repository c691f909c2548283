"""Follow-up camt.029s: a cancellation answered pending (PDCR: a submitted chain transaction)
is decided by a settlement round; the change it reports names the request, whose sender is
told, once, in the transaction that records the change: cancelled (the operation failed or was
cancelled: it never took effect) or refused (it settled first)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from bridge.cancellations.answer import resolution_reply
from bridge.cancellations.resolution import TransactionResolution
from bridge.codes import CancellationRejection, CancellationStatus, Status
from bridge.config import BridgeConfig
from bridge.iso.camt029 import reply_version
from bridge.iso.reader import MessageReader
from bridge.messages import OutboundMessage
from bridge.ports import Inbox, Outbox
from bridge.settlement.changes import SettlementChange
from bridge.status_requests.lookup import payment_record
from bridge.status_requests.request import OriginalGroup

log = structlog.get_logger("tokenbridge.cancellations")


class CancellationFollowUps:
    """Answers decided cancellations with follow-up camt.029s; wired by adapters.bootstrap next
    to the follow-up pacs.002s (bridge.settlement.follow_ups)."""

    def __init__(self, reader: MessageReader, config: BridgeConfig,
                 clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self.config = config
        self.clock = clock

    def report(self, changes: Sequence[SettlementChange], inbox: Inbox,
               outbox: Outbox) -> list[OutboundMessage]:
        """One camt.029 per request among `changes` (those naming one), added to `outbox` in the
        caller's transaction."""
        by_request: dict[str, list[SettlementChange]] = {}
        for change in changes:
            if change.cancellation:
                by_request.setdefault(change.cancellation, []).append(change)
        replies = []
        for digest, group in by_request.items():
            record = inbox.find(digest)
            read = self.reader.read(record.raw) if record is not None else None
            if read is None or read.payload is None:
                log.warning("cancellation decided without its request to answer", request=digest[:16],
                            keys=[c.key for c in group][:5])
                continue
            version = reply_version(read.message_type or "", self.config.reply_versions)
            reply = resolution_reply(read, version, tuple(self._resolution(c, inbox) for c in group),
                                     self.config, self.clock())
            outbox.add(reply)
            replies.append(reply)
            log.info("cancellation reported", request=digest[:16], reply_id=reply.message_id,
                     statuses=sorted({c.new_status for c in group}))
        return replies

    def _resolution(self, change: SettlementChange, inbox: Inbox) -> TransactionResolution:
        refs = change.operation.refs
        record = payment_record(refs.message_id, inbox)
        named = dict(original_group=OriginalGroup(refs.message_id, record.message_type or "")
                     if record is not None and refs.message_id else None,
                     instruction_id=refs.instruction_id, end_to_end_id=refs.end_to_end_id,
                     transaction_id=refs.transaction_id, uetr=refs.uetr)
        if change.new_status == Status.REJECTED:
            return TransactionResolution(CancellationStatus.ACCEPTED, **named,
                                         info=f"cancelled: it never took effect ({change.reason})")
        return TransactionResolution(CancellationStatus.REJECTED, **named,
                                     reason=CancellationRejection.AGENT_DECISION,
                                     info="settled on the ledger before the cancellation could take "
                                          "effect: it can be returned (pacs.004), not cancelled")
