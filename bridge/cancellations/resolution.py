"""camt.029 in domain terms: the resolution of a cancellation request, per transaction."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.codes import CancellationStatus, Confirmation
from bridge.parties import Agent
from bridge.status_requests.request import OriginalGroup


@dataclass(frozen=True, slots=True)
class TransactionResolution:
    """`CxlDtls/TxInfAndSts`: what became of one transaction the request named."""

    status: CancellationStatus
    original_group: OriginalGroup | None = None  # the pacs.008 it came in, when found
    instruction_id: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None
    reason: str | None = None  # CancellationRejection when refused
    info: str | None = None  # why, for a person (at most 105 characters in the XML)


@dataclass(frozen=True, slots=True)
class Resolution:
    """A whole `RsltnOfInvstgtn` answering one camt.056."""

    message_id: str  # Assgnmt/Id, new
    created_at: datetime
    assigner_bic: str | None  # the bridge's bank, which answers
    assignee: Agent | None  # who asked (the request's assigner)
    confirmation: Confirmation
    request_id: str  # the camt.056's Assgnmt/Id
    request_type: str  # "camt.056.001.08"
    request_created_at_text: str | None
    case_id: str | None = None  # the request's Case/Id, resolved
    case_creator: Agent | None = None
    transactions: tuple[TransactionResolution, ...] = ()


def confirmation_of(statuses: Sequence[CancellationStatus]) -> Confirmation:
    """The request's status from its transactions': pending while any is, cancelled or
    refused when all agree, else partially executed."""
    found = set(statuses)
    if CancellationStatus.PENDING in found:
        return Confirmation.PENDING
    if found == {CancellationStatus.ACCEPTED}:
        return Confirmation.CANCELLED
    if CancellationStatus.ACCEPTED in found:
        return Confirmation.PARTIALLY_EXECUTED
    return Confirmation.REJECTED
