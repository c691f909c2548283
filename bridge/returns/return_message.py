"""pacs.004 in domain terms: a return names an earlier transaction by its references and says
how much of it comes back, and why.

One shape for every version from pacs.004.001.01 to .15; the reader (bridge.iso.pacs004)
absorbs the differences, the writer (bridge.iso.pacs004_writer) writes the same shape back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bridge.money import Amount
from bridge.parties import Agent


@dataclass(frozen=True, slots=True)
class ReturnReason:
    """`RtrRsnInf`: an ExternalReturnReason1Code (`Rsn/Cd`, e.g. AC04, MD06) or a proprietary
    reason (`Rsn/Prtry`), with its additional information."""

    code: str | None = None
    proprietary: str | None = None
    info: str | None = None

    @property
    def text(self) -> str:
        return self.code or self.proprietary or "NARR"


@dataclass(frozen=True, slots=True)
class OriginalMessage:
    """`OrgnlGrpInf`: the message the returned transaction came in."""

    message_id: str
    message_type: str  # OrgnlMsgNmId, e.g. "pacs.008.001.08"
    created_at_text: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnedTransaction:
    """One `TxInf`: the return of (part of) one earlier transaction."""

    index: int  # 0-based position in the message
    return_id: str | None  # RtrId (optional in every version)
    original_message: OriginalMessage | None  # TxInf/OrgnlGrpInf, else the message's
    instruction_id: str | None  # OrgnlInstrId
    end_to_end_id: str | None  # OrgnlEndToEndId
    transaction_id: str | None  # OrgnlTxId
    uetr: str | None  # OrgnlUETR (from .09)
    returned: Amount  # RtrdIntrBkSttlmAmt: Decimal and currency as written
    original_amount: Amount | None = None  # OrgnlIntrBkSttlmAmt
    settlement_date: date | None = None  # IntrBkSttlmDt
    reason: ReturnReason = ReturnReason()
    instructing_agent: Agent | None = None


@dataclass(frozen=True, slots=True)
class PaymentReturnMessage:
    """A whole `PmtRtr` (`pacs.004.001.01` is the root's name in .01)."""

    message_type: str  # "pacs.004.001.09"
    message_id: str
    created_at: datetime | None
    created_at_text: str | None
    instructing_agent: Agent | None
    instructed_agent: Agent | None
    original_message: OriginalMessage | None  # the top-level OrgnlGrpInf
    transactions: tuple[ReturnedTransaction, ...]
    settlement_method: str = "INDA"  # GrpHdr/SttlmInf/SttlmMtd
    number_of_transactions: int | None = None  # GrpHdr/NbOfTxs as written (None: as many as held)

    def __post_init__(self) -> None:
        if self.number_of_transactions is None:
            object.__setattr__(self, "number_of_transactions", len(self.transactions))
