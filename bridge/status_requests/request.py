"""pacs.028 in domain terms: a status request names earlier transactions by their references.

One shape for every version from pacs.028.001.01 to .07; the reader absorbs the differences.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.parties import Agent


@dataclass(frozen=True, slots=True)
class OriginalGroup:
    """`OrgnlGrpInf`: the message an earlier transaction came in (its MsgId, type, CreDtTm)."""

    message_id: str
    message_type: str  # OrgnlMsgNmId, e.g. "pacs.008.001.08"
    created_at: datetime | None = None
    created_at_text: str | None = None  # as written: a reply echoes it


@dataclass(frozen=True, slots=True)
class RequestedTransaction:
    """One `TxInf`: a transaction whose status is asked, by whichever references the sender has."""

    index: int  # 0-based position in the request
    status_request_id: str | None = None  # StsReqId
    original_group: OriginalGroup | None = None  # TxInf/OrgnlGrpInf, else the request's own
    instruction_id: str | None = None  # OrgnlInstrId
    end_to_end_id: str | None = None  # OrgnlEndToEndId
    transaction_id: str | None = None  # OrgnlTxId
    uetr: str | None = None  # OrgnlUETR (from .03)
    instructing_agent: Agent | None = None


@dataclass(frozen=True, slots=True)
class StatusRequestMessage:
    """A whole `FIToFIPmtStsReq`."""

    message_type: str  # "pacs.028.001.03"
    message_id: str
    created_at: datetime | None
    created_at_text: str | None
    instructing_agent: Agent | None
    original_groups: tuple[OriginalGroup, ...]  # the top-level OrgnlGrpInf (a whole message asked about)
    transactions: tuple[RequestedTransaction, ...]
