"""ISO 20022 building blocks shared by every message reader: amounts, accounts, agents,
remittance information, and the check that a Document is of the family a reader maps."""
from __future__ import annotations

from lxml import etree

from bridge.iso.catalogue import message_type_of
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, to_decimal
from bridge.money import Amount
from bridge.parties import AccountId, Agent


def message_root(document: etree._Element, family: str, versions: frozenset[str],
                 root: str) -> tuple[str, Node]:
    """The message type and the root component (`FIToFICstmrCdtTrf`, `BkToCstmrStmt`) of a
    Document of `family` (`pacs.008.001`) in one of `versions`; MessageReadError otherwise."""
    qname = etree.QName(document)
    message_type = message_type_of(qname.namespace)
    found_family, _, version = (message_type or "").rpartition(".")
    if qname.localname != "Document" or found_family != family or version not in versions:
        found = f"{qname.localname} ({qname.namespace or 'no namespace'})"
        raise MessageReadError(f"expected a {family}.{min(versions)} to .{max(versions)} "
                               f"Document, got {found}")
    node = Node(document, qname.namespace or "").find(root)
    if node is None:
        raise MessageReadError(f"{message_type} Document has no {root}")
    return message_type, node


def amount(node: Node | None, where: str) -> Amount | None:
    """An `...CurrencyAndAmount`: Decimal from the text (never float), currency from `Ccy`."""
    if node is None:
        return None
    value = to_decimal(node.text())
    currency = node.attr("Ccy")
    if value is None or not currency:
        raise MessageReadError(f"{where}: not an amount with a currency "
                               f"({node.text()!r}, Ccy={currency!r})")
    return Amount(value, currency)


def account(node: Node | None) -> AccountId | None:
    """`Id/IBAN`, or `Id/Othr/Id` with its scheme (`SchmeNm/Cd` or `SchmeNm/Prtry`, told apart)
    and issuer (`Issr`); None without either (from pacs.008.001.08 / camt.053.001.09 an account
    may be named by proxy only)."""
    if node is None:
        return None
    iban = node.text("Id/IBAN")
    if iban:
        return AccountId(iban=iban)
    other = node.text("Id/Othr/Id")
    if other:
        code, proprietary = node.text("Id/Othr/SchmeNm/Cd"), node.text("Id/Othr/SchmeNm/Prtry")
        return AccountId(other=other, scheme=code or proprietary,
                         proprietary=code is None and proprietary is not None,
                         issuer=node.text("Id/Othr/Issr"))
    return None


def agent(node: Node | None) -> Agent | None:
    """A `BranchAndFinancialInstitutionIdentification`: BIC (.02) or BICFI (later), member id, name."""
    if node is None:
        return None
    return Agent(
        bic=node.first_text("FinInstnId/BICFI", "FinInstnId/BIC"),
        member_id=node.text("FinInstnId/ClrSysMmbId/MmbId"),
        name=node.text("FinInstnId/Nm"),
    )


def remittance(info: Node | None) -> tuple[str, ...]:
    """Unstructured lines first, then the structured creditor references, in document order."""
    if info is None:
        return ()
    lines = [text for node in info.findall("Ustrd") if (text := node.text())]
    refs = [text for node in info.findall("Strd/CdtrRefInf/Ref") if (text := node.text())]
    return tuple(lines + refs)
