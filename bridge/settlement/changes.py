"""Settlement that finishes after the answer: a ledger whose operations become final later
(a chain: ACSP when submitted, ACSC or RJCT once final) reports each change once, and the
bridge answers it with a follow-up pacs.002 for the original transactions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.operations import TokenOperation
from bridge.codes import Status
from bridge.status import TransactionStatus


@dataclass(frozen=True, slots=True)
class SettlementChange:
    """An operation's pacs.002 status moved on (ACSP -> ACSC or ACSP -> RJCT); `operation.refs`
    names the original transaction. Reported once by the ledger, in the transaction that
    records the change, so the follow-up is neither lost nor sent twice."""

    key: str
    operation: TokenOperation
    old_status: str
    new_status: str
    reason: str | None = None  # ISO reason when RJCT
    info: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    settled_at: datetime | None = None
    # The cancellation request (camt.056) answered pending for this operation: a follow-up
    # camt.029 tells its sender the outcome (RJCT: cancelled; ACSC: settled first, refused).
    cancellation: str | None = None
    # Executed from a hold (value date reached, released): a held burn's fiat leg leaves now.
    released: bool = False


def transaction_status(change: SettlementChange) -> TransactionStatus:
    refs = change.operation.refs
    return TransactionStatus(
        status=change.new_status, original_end_to_end_id=refs.end_to_end_id,
        original_instruction_id=refs.instruction_id, original_transaction_id=refs.transaction_id,
        original_uetr=refs.uetr, reason=change.reason, additional_info=change.info)


def follow_up_group_status(changes: Sequence[SettlementChange], transactions_in_original: int) -> str | None:
    """GrpSts of a follow-up: only when it reports on every transaction of the original (a
    report on some of them must not speak for the group)."""
    if len(changes) != transactions_in_original:
        return None
    statuses = {c.new_status for c in changes}
    return statuses.pop() if len(statuses) == 1 else Status.PARTIALLY_ACCEPTED


def by_original_message(changes: Sequence[SettlementChange]) -> dict[str | None, list[SettlementChange]]:
    grouped: dict[str | None, list[SettlementChange]] = {}
    for change in changes:
        grouped.setdefault(change.operation.refs.message_id, []).append(change)
    return grouped
