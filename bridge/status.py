"""Payment status in ISO terms: what a pacs.002 reports about a pacs.008 and each transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """`TxInfAndSts`: the status of one original transaction, with the ISO reason when rejected."""

    status: str  # a Status: ACSC, ACSP or RJCT
    original_end_to_end_id: str | None = None
    original_instruction_id: str | None = None
    original_transaction_id: str | None = None
    original_uetr: str | None = None
    reason: str | None = None  # ExternalStatusReason1Code, e.g. AC01, AM04, AM05, FF01
    additional_info: str | None = None  # why, for a person; at most 105 characters in the XML


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A whole `FIToFIPmtStsRpt` answering one pacs.008."""

    message_id: str  # new and unique for every report
    created_at: datetime
    original_message_id: str
    original_message_type: str  # "pacs.008.001.08"
    group_status: str | None  # a Status: ACSC, ACSP, PART or RJCT; None: the report covers only some transactions
    original_created_at: datetime | None = None
    original_created_at_text: str | None = None  # the original's CreDtTm as written, echoed when valid
    group_reason: str | None = None  # set when the whole message is rejected (e.g. FF01)
    group_additional_info: str | None = None
    instructing_agent_bic: str | None = None  # the bridge's bank, which reports
    instructed_agent_bic: str | None = None  # the original sender, which is told
    transactions: tuple[TransactionStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class HeaderParty:
    """A financial institution as an AppHdr `Fr`/`To` (`FIId/FinInstnId`) names it (or an
    organisation, `OrgId`, named by AnyBIC, LEI, name or other id): by BIC, by
    clearing-system member id (Fedwire: `ClrSysId/Cd` USABA and the ABA routing number as
    `MmbId`), by LEI, name or another id. A reply names each party the way the original did."""

    bic: str | None = None
    clearing_system: str | None = None  # ClrSysId/Cd, e.g. USABA
    clearing_system_proprietary: str | None = None  # ClrSysId/Prtry
    member_id: str | None = None  # ClrSysMmbId/MmbId
    lei: str | None = None
    name: str | None = None
    other_id: str | None = None  # Othr/Id
    other_scheme: str | None = None  # Othr/SchmeNm/Cd
    other_scheme_proprietary: str | None = None  # Othr/SchmeNm/Prtry
    other_issuer: str | None = None  # Othr/Issr
    # An organisation (`OrgId`: a corporate's channel) rather than an institution (`FIId`):
    # then `bic` is its AnyBIC, `lei`, `name` and `other_*` its OrgId's, and no clearing member.
    organisation: bool = False

    @property
    def identified(self) -> bool:
        """Whether anything names the institution (a clearing system alone names no member)."""
        return any((self.bic, self.member_id, self.lei, self.name, self.other_id))


@dataclass(frozen=True, slots=True)
class ReplyHeader:
    """The AppHdr of a reply: from and to swapped, a new BizMsgIdr, related to the original."""

    from_party: HeaderParty | None
    to_party: HeaderParty | None
    business_message_id: str
    message_definition_id: str  # the reply's type, e.g. "pacs.002.001.10"
    created_at: datetime
    related_business_message_id: str | None  # the original's BizMsgIdr
    related_message_definition_id: str | None  # the original's MsgDefIdr
    related_from: HeaderParty | None = None  # the original's Fr, as it named it
    related_to: HeaderParty | None = None
    related_created_at: datetime | None = None
    related_created_at_text: str | None = None  # the original's CreDt as written
    business_service: str | None = None
