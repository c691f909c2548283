"""pain.002 in domain terms: what a customer payment status report says of a pain.001, of each
payment information block and of each transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.status import TransactionStatus


@dataclass(frozen=True, slots=True)
class PaymentInformationStatus:
    """`OrgnlPmtInfAndSts`: one payment information block's status and its transactions'."""

    original_payment_information_id: str | None  # None: .02 only, where PmtInfId is optional
    status: str | None  # a Status: ACSC, ACSP, PART or RJCT
    transactions: tuple[TransactionStatus, ...] = ()
    reason: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class InitiationStatusReport:
    """A whole `CstmrPmtStsRpt` answering one pain.001."""

    message_id: str  # new and unique for every report
    created_at: datetime
    original_message_id: str
    original_message_type: str  # "pain.001.001.09"
    group_status: str | None
    original_created_at: datetime | None = None
    original_created_at_text: str | None = None
    group_reason: str | None = None  # set when the whole message is rejected
    group_additional_info: str | None = None
    debtor_agent_bic: str | None = None  # the bridge's bank, the debtor's agent that reports
    payment_informations: tuple[PaymentInformationStatus, ...] = ()
