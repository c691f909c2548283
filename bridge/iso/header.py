"""The Business Application Header (head.001 `AppHdr`), read the same way for every version."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from bridge.iso.xmlnav import Node, to_datetime
from bridge.status import HeaderParty


@dataclass(frozen=True, slots=True)
class BusinessHeader:
    """What the AppHdr says: who sends to whom, the business message id, and the claimed type."""

    namespace: str
    from_bic: str | None
    to_bic: str | None
    business_message_id: str | None
    message_definition_id: str | None  # recorded only: real headers often name another version
    business_service: str | None = None
    created_at: datetime | None = None
    from_party: HeaderParty | None = None  # Fr whatever names it (BIC, ClrSysMmbId, LEI, ...)
    to_party: HeaderParty | None = None
    created_at_text: str | None = None  # CreDt as written, for a reply's Rltd to echo

    @property
    def version(self) -> str:
        """`head.001.001.02` from the namespace."""
        return self.namespace.rsplit(":", 1)[-1]


def _party(party: Node | None) -> HeaderParty | None:
    """`Fr`/`To` as `FIId/FinInstnId`, or as `OrgId` (a corporate's channel); None for an empty
    one."""
    if party is None:
        return None
    institution = party.find("FIId/FinInstnId")
    if institution is None:
        return _organisation(party.find("OrgId"))
    found = HeaderParty(
        bic=institution.first_text("BICFI", "BIC"),
        clearing_system=institution.text("ClrSysMmbId/ClrSysId/Cd"),
        clearing_system_proprietary=institution.text("ClrSysMmbId/ClrSysId/Prtry"),
        member_id=institution.text("ClrSysMmbId/MmbId"),
        lei=institution.text("LEI"),
        name=institution.text("Nm"),
        **_other(institution, "Othr"),
    )
    return found if found.identified else None


def _organisation(party: Node | None) -> HeaderParty | None:
    """`Fr`/`To` `OrgId`: its name and `Id/OrgId` (AnyBIC, LEI, Othr); a private person
    (`PrvtId`) is no channel the bridge knows."""
    if party is None:
        return None
    found = HeaderParty(
        organisation=True,
        bic=party.text("Id/OrgId/AnyBIC"),
        lei=party.text("Id/OrgId/LEI"),
        name=party.text("Nm"),
        **_other(party, "Id/OrgId/Othr"),
    )
    return found if found.identified else None


def _other(node: Node, at: str) -> dict[str, str | None]:
    """The `Othr` at `at` (Id, SchmeNm Cd or Prtry, Issr) as HeaderParty fields."""
    return dict(other_id=node.text(f"{at}/Id"), other_scheme=node.text(f"{at}/SchmeNm/Cd"),
                other_scheme_proprietary=node.text(f"{at}/SchmeNm/Prtry"),
                other_issuer=node.text(f"{at}/Issr"))


def read_business_header(element: etree._Element) -> BusinessHeader:
    """Read an ISO AppHdr (head.001.001.01 to .04)."""
    node = Node(element, etree.QName(element).namespace or "")
    sender, receiver = _party(node.find("Fr")), _party(node.find("To"))
    created = node.text("CreDt")
    return BusinessHeader(
        namespace=node.ns,
        # An organisation's AnyBIC does not make it a bank: only an institution sends as a BIC.
        from_bic=sender.bic if sender and not sender.organisation else None,
        to_bic=receiver.bic if receiver and not receiver.organisation else None,
        business_message_id=node.text("BizMsgIdr"),
        message_definition_id=node.text("MsgDefIdr"),
        business_service=node.text("BizSvc"),
        created_at=to_datetime(created),
        from_party=sender,
        to_party=receiver,
        created_at_text=created,
    )
