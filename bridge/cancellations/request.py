"""camt.056 in domain terms: a cancellation request names earlier transactions by their
references and says why they should be cancelled.

One shape for every version from camt.056.001.01 to .12; the reader absorbs the differences.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.parties import Agent
from bridge.status_requests.request import OriginalGroup


@dataclass(frozen=True, slots=True)
class TransactionCancellation:
    """One `Undrlyg/TxInf`: a transaction to cancel, by whichever references the sender has."""

    index: int  # 0-based position in the request, across every Undrlyg
    cancellation_id: str | None = None  # CxlId
    case_id: str | None = None  # TxInf/Case/Id
    original_group: OriginalGroup | None = None  # TxInf/OrgnlGrpInf, else its Undrlyg's
    instruction_id: str | None = None  # OrgnlInstrId
    end_to_end_id: str | None = None  # OrgnlEndToEndId
    transaction_id: str | None = None  # OrgnlTxId
    uetr: str | None = None  # OrgnlUETR (from .08)
    reason: str | None = None  # CxlRsnInf/Rsn/Cd (or Prtry), e.g. DUPL, CUST, FRAD
    reason_info: str | None = None  # CxlRsnInf/AddtlInf, the first


@dataclass(frozen=True, slots=True)
class CancellationRequestMessage:
    """A whole `FIToFIPmtCxlReq`. It has no GrpHdr: `Assgnmt/Id` is what a camt.029 answers."""

    message_type: str  # "camt.056.001.08"
    assignment_id: str  # Assgnmt/Id
    created_at: datetime | None
    created_at_text: str | None  # Assgnmt/CreDtTm as written
    assigner: Agent | None  # Assgnmt/Assgnr/Agt: who asks
    assignee: Agent | None  # Assgnmt/Assgne/Agt: whom it asks (us)
    case_id: str | None  # Case/Id
    case_creator: Agent | None  # Case/Cretr/Agt
    original_groups: tuple[OriginalGroup, ...]  # each Undrlyg/OrgnlGrpInfAndCxl
    transactions: tuple[TransactionCancellation, ...]
