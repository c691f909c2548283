"""pain.001 in domain terms: a customer credit transfer initiation, its payment information
blocks and their transactions.

Each transaction is a payments `CreditTransfer` (its amount the instructed amount, `InstdAmt`;
debtor, debtor's account and agent from its payment information block), so that translation,
keys and the outgoing fiat leg treat it as the credit transfer it asks for. One shape for every
version the reader maps (pain.001.001.02 to .13).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from bridge.parties import Agent, Party
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader


@dataclass(frozen=True, slots=True)
class InitiatingParty:
    """`GrpHdr/InitgPty`: the corporate that initiates, named and identified as an organisation
    (`Id/OrgId`: AnyBIC, LEI or Othr/Id, the first given)."""

    name: str | None = None
    identifier: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentInformation:
    """One `PmtInf`: a debtor's account and the credit transfers paid from it."""

    index: int  # 0-based position in the message
    payment_information_id: str | None  # PmtInfId (optional in .02 only)
    debtor: Party
    debtor_agent: Agent | None
    requested_execution_date: date | None = None  # ReqdExctnDt (Dt or the date of DtTm)
    number_of_transactions: int | None = None  # NbOfTxs, optional here
    control_sum: Decimal | None = None
    charge_bearer: str | None = None
    transactions: tuple[CreditTransfer, ...] = ()  # index: position in the whole message
    # Transactions given as an equivalent amount (`EqvtAmt`, in the debtor account's currency)
    # to be converted: (index, CcyOfTrf). A conversion is settled PvP; not yet here.
    conversions: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PaymentInitiation:
    """A whole `CstmrCdtTrfInitn`."""

    message_type: str  # e.g. "pain.001.001.09", from the Document namespace
    group_header: GroupHeader  # MsgId, CreDtTm, NbOfTxs, CtrlSum (no agents: a customer sends it)
    initiating_party: InitiatingParty
    payment_informations: tuple[PaymentInformation, ...] = field(default_factory=tuple)

    @property
    def transactions(self) -> tuple[CreditTransfer, ...]:
        """Every transaction of every payment information block, in document order."""
        return tuple(tx for block in self.payment_informations for tx in block.transactions)

    def block_of(self, index: int) -> PaymentInformation:
        """The payment information block holding transaction `index`."""
        for block in self.payment_informations:
            if block.transactions and block.transactions[0].index <= index <= block.transactions[-1].index:
                return block
        raise IndexError(f"no transaction {index} in {self.group_header.message_id}")

    def as_credit_transfers(self) -> CreditTransferMessage:
        """The transactions as one credit transfer message: what payments' keys and rules read."""
        return CreditTransferMessage(self.message_type, self.group_header, self.transactions)
