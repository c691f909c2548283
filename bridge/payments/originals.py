"""Finding a payment the bridge received again, from the references a later message gives
(a pacs.028 status request, a pacs.004 return, `tokenbridge return`).

The inbox keeps every pacs.008's bytes and the ledger every applied operation under its
idempotency key (bridge.payments.keys), so: named by its message (OrgnlMsgId with OrgnlInstrId,
OrgnlEndToEndId, OrgnlTxId or OrgnlUETR), the message is re-read from the inbox and the
transaction matched by every reference given; named by UETR alone, the ledger's operation
under `uetr:<uetr>` leads to its message.
"""
from __future__ import annotations

from dataclasses import dataclass

from bridge.iso.reader import MessageReader, ReadMessage
from bridge.messages import InboundRecord
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage
from bridge.payments.keys import transaction_keys, uetr_key
from bridge.ports import RecordedOperation, UnitOfWork

PAYMENT_FAMILY = "pacs.008"
"""The payments a later message may name (pacs.009 and others: not received)."""


@dataclass(frozen=True, slots=True)
class OriginalRefs:
    """The references a later message names an original transaction by (any of them may be
    missing); every one given must match."""

    instruction_id: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None

    def given(self) -> tuple[tuple[str, str], ...]:
        """The references given, by the field they match in a pacs.008 transaction."""
        fields = (("instruction_id", self.instruction_id), ("end_to_end_id", self.end_to_end_id),
                  ("transaction_id", self.transaction_id), ("uetr", self.uetr.lower() if self.uetr else None))
        return tuple((name, value) for name, value in fields if value)

    def matches(self, original: CreditTransfer) -> bool:
        for name, value in self.given():
            theirs = getattr(original, name)
            if (theirs.lower() if name == "uetr" and theirs else theirs) != value:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Original:
    """One transaction of a received pacs.008: its message, its position, the key it was
    applied under and the ledger's operation of it (None: rejected, or never applied)."""

    record: InboundRecord
    read: ReadMessage
    index: int
    key: str
    recorded: RecordedOperation | None

    @property
    def message(self) -> CreditTransferMessage:
        return self.read.payload

    @property
    def transaction(self) -> CreditTransfer:
        return self.message.transactions[self.index]


def is_payment(record: InboundRecord) -> bool:
    return (record.message_type or "").startswith(PAYMENT_FAMILY)


def in_message(refs: OriginalRefs, record: InboundRecord, read: ReadMessage,
               uow: UnitOfWork) -> Original | None:
    """The transaction of the pacs.008 `record` (read as `read`) that `refs` name, or None."""
    payload = read.payload
    if not isinstance(payload, CreditTransferMessage) or not refs.given():
        return None
    index = next((t.index for t in payload.transactions if refs.matches(t)), None)
    if index is None:
        return None
    key = transaction_keys(payload)[index]
    return Original(record, read, index, key, uow.ledger.find(key))


def find_original(refs: OriginalRefs, message_id: str | None, uow: UnitOfWork,
                  reader: MessageReader) -> Original | None:
    """The received transaction `refs` name, in the message `message_id` when given (newest
    record first), else by its UETR through the ledger; None when the bridge never received it."""
    if message_id:
        for record in uow.inbox.by_message_id(message_id):
            if is_payment(record):
                found = in_message(refs, record, reader.read(record.raw), uow)
                if found is not None:
                    return found
    if refs.uetr:
        recorded = uow.ledger.find(uetr_key(refs.uetr))
        found_in = recorded.operation.refs.message_id if recorded is not None else None
        if found_in and found_in != message_id:
            return find_original(OriginalRefs(uetr=refs.uetr), found_in, uow, reader)
    return None
