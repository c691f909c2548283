"""The Business Application Header (head.001 `AppHdr`), read the same way for every version."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from bridge.iso.xmlnav import Node, to_datetime


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
    possible_duplicate: bool = False

    @property
    def version(self) -> str:
        """`head.001.001.02` from the namespace."""
        return self.namespace.rsplit(":", 1)[-1]


def _bic(party: Node | None) -> str | None:
    if party is None:
        return None
    return party.first_text("FIId/FinInstnId/BICFI", "FIId/FinInstnId/BIC")


def read_business_header(element: etree._Element) -> BusinessHeader:
    """Read an ISO AppHdr (head.001.001.01 to .04)."""
    node = Node(element, etree.QName(element).namespace or "")
    return BusinessHeader(
        namespace=node.ns,
        from_bic=_bic(node.find("Fr")),
        to_bic=_bic(node.find("To")),
        business_message_id=node.text("BizMsgIdr"),
        message_definition_id=node.text("MsgDefIdr"),
        business_service=node.text("BizSvc"),
        created_at=to_datetime(node.text("CreDt")),
        possible_duplicate=(node.text("PssblDplct") or "").lower() == "true",
    )
