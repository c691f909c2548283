"""pacs.008 and pacs.009 in domain terms: a credit transfer message, its group header and its
transactions.

One shape for every version from pacs.008.001.02 to .14 and pacs.009.001.02 to .13; the readers
absorb the differences. In a pacs.009 the debtor and creditor are financial institutions (their
accounts `DbtrAcct`/`CdtrAcct`); a cover payment carries its underlying customer credit transfer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bridge.holds.conditions import Condition
from bridge.money import Amount
from bridge.parties import Agent, Party


@dataclass(frozen=True, slots=True)
class GroupHeader:
    """`GrpHdr`: what the sender says of the whole message."""

    message_id: str
    created_at: datetime | None
    number_of_transactions: int
    control_sum: Decimal | None = None
    total_settlement_amount: Amount | None = None
    settlement_date: date | None = None
    settlement_method: str | None = None
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None
    created_at_text: str | None = None  # CreDtTm as written (offset-less, fractions): replies echo it


@dataclass(frozen=True, slots=True)
class UnderlyingCustomerTransfer:
    """A cover payment's `UndrlygCstmrCdtTrf`: the customer credit transfer the pacs.009 covers
    (its pacs.008 goes to the creditor's bank directly)."""

    debtor: Party
    creditor: Party
    debtor_agent: Agent | None = None
    creditor_agent: Agent | None = None
    instructed_amount: Amount | None = None
    remittance: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for statuses and replies: who pays whom, and the amount instructed."""
        def name(party: Party) -> str:
            return party.name or (str(party.account.key) if party.account and party.account.key else "?")
        amount = f" {self.instructed_amount}" if self.instructed_amount else ""
        return f"cover for {name(self.debtor)} -> {name(self.creditor)}{amount}"


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One `CdtTrfTxInf`: a single interbank credit transfer."""

    index: int  # 0-based position in the message; ties per-transaction findings to the XML
    end_to_end_id: str
    amount: Amount  # IntrBkSttlmAmt
    debtor: Party
    creditor: Party
    instruction_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None
    settlement_date: date | None = None
    charge_bearer: str | None = None
    debtor_agent: Agent | None = None
    creditor_agent: Agent | None = None
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None
    remittance: tuple[str, ...] = ()  # unstructured lines, then structured creditor references
    instructed_amount: Amount | None = None  # InstdAmt (pacs.008), as the debtor instructed it
    exchange_rate: Decimal | None = None  # XchgRate (pacs.008): IntrBkSttlmAmt = InstdAmt x rate
    underlying: UnderlyingCustomerTransfer | None = None  # a pacs.009 cover's customer transfer
    condition: Condition | None = None  # a hashlock in SplmtryData (bridge.holds.conditions)
    condition_problem: str | None = None  # a condition was given but cannot be used: why

    @property
    def is_cover(self) -> bool:
        return self.underlying is not None


@dataclass(frozen=True, slots=True)
class CreditTransferMessage:
    """A whole `FIToFICstmrCdtTrf`."""

    message_type: str  # e.g. "pacs.008.001.08", from the Document namespace
    group_header: GroupHeader
    transactions: tuple[CreditTransfer, ...] = field(default_factory=tuple)
