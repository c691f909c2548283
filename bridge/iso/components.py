"""ISO 20022 building blocks shared by every message reader: amounts, accounts, agents,
remittance information, and the check that a Document is of the family a reader maps."""
from __future__ import annotations

from functools import lru_cache

from lxml import etree

from bridge.iso.catalogue import message_type_of
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, text_of, to_decimal
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


#: Every local name the element readers below and the credit transfer readers (pacs.008,
#: pacs.009) look for; a child of another name or namespace is skipped in one dictionary miss.
READ_NAMES = frozenset({
    # accounts, agents, remittance
    "Id", "IBAN", "Othr", "SchmeNm", "Cd", "Prtry", "Issr", "FinInstnId", "BICFI", "BIC",
    "ClrSysMmbId", "MmbId", "Nm", "Ustrd", "Strd", "CdtrRefInf", "Ref",
    # credit transfers: group header and transactions
    "GrpHdr", "MsgId", "CreDtTm", "NbOfTxs", "CtrlSum", "TtlIntrBkSttlmAmt", "IntrBkSttlmDt",
    "SttlmInf", "SttlmMtd", "CdtTrfTxInf", "PmtId", "InstrId", "EndToEndId", "TxId", "UETR",
    "IntrBkSttlmAmt", "InstdAmt", "XchgRate", "ChrgBr", "Dbtr", "DbtrAcct", "DbtrAgt", "Cdtr",
    "CdtrAcct", "CdtrAgt", "InstgAgt", "InstdAgt", "RmtInf", "SplmtryData", "PlcAndNm", "Envlp",
    "UndrlygCstmrCdtTrf",
})


@lru_cache(maxsize=256)
def local_names(ns: str) -> dict[str, str]:
    """Qualified tag (`{ns}Nm`) -> local name, for the names of READ_NAMES in namespace `ns`."""
    return {f"{{{ns}}}{name}": name for name in READ_NAMES}


def firsts(element: etree._Element, names: dict[str, str]) -> dict[str, etree._Element]:
    """`element`'s children of `names` in one pass: local name -> the first child so named
    (where a name repeats, the first one answers, as lxml's `find`)."""
    found: dict[str, etree._Element] = {}
    for child in element:
        name = names.get(child.tag)
        if name is not None and name not in found:
            found[name] = child
    return found


def amount(node: Node | None, where: str) -> Amount | None:
    """An `...CurrencyAndAmount`: Decimal from the text (never float), currency from `Ccy`."""
    return None if node is None else amount_of(node.element, where)


def amount_of(element: etree._Element | None, where: str) -> Amount | None:
    """`amount` of an element."""
    if element is None:
        return None
    text = text_of(element)
    value = to_decimal(text)
    currency = element.get("Ccy")
    if value is None or not currency:
        raise MessageReadError(f"{where}: not an amount with a currency "
                               f"({text!r}, Ccy={currency!r})")
    return Amount(value, currency)


def account(node: Node | None) -> AccountId | None:
    """`Id/IBAN`, or `Id/Othr/Id` with its scheme (`SchmeNm/Cd` or `SchmeNm/Prtry`, told apart)
    and issuer (`Issr`); None without either (from pacs.008.001.08 / camt.053.001.09 an account
    may be named by proxy only)."""
    return None if node is None else account_of(node.element, local_names(node.ns))


def account_of(element: etree._Element | None, names: dict[str, str]) -> AccountId | None:
    """`account` of an element, its children read in one pass per level."""
    if element is None:
        return None
    identification = firsts(element, names).get("Id")
    if identification is None:
        return None
    choice = firsts(identification, names)
    iban = text_of(choice.get("IBAN"))
    if iban:
        return AccountId(iban=iban)
    other_element = choice.get("Othr")
    if other_element is None:
        return None
    other = firsts(other_element, names)
    other_id = text_of(other.get("Id"))
    if not other_id:
        return None
    scheme = other.get("SchmeNm")
    scheme_parts = {} if scheme is None else firsts(scheme, names)
    code, proprietary = text_of(scheme_parts.get("Cd")), text_of(scheme_parts.get("Prtry"))
    return AccountId(other=other_id, scheme=code or proprietary,
                     proprietary=code is None and proprietary is not None,
                     issuer=text_of(other.get("Issr")))


def agent(node: Node | None) -> Agent | None:
    """A `BranchAndFinancialInstitutionIdentification`: BIC (.02) or BICFI (later), member id, name."""
    return None if node is None else agent_of(node.element, local_names(node.ns))


def agent_of(element: etree._Element | None, names: dict[str, str]) -> Agent | None:
    """`agent` of an element, its children read in one pass per level."""
    if element is None:
        return None
    institution = firsts(element, names).get("FinInstnId")
    if institution is None:
        return Agent()
    parts = firsts(institution, names)
    member = parts.get("ClrSysMmbId")
    return Agent(
        bic=text_of(parts.get("BICFI")) or text_of(parts.get("BIC")),
        member_id=None if member is None else text_of(firsts(member, names).get("MmbId")),
        name=text_of(parts.get("Nm")),
    )


def remittance(info: Node | None) -> tuple[str, ...]:
    """Unstructured lines first, then the structured creditor references, in document order."""
    return () if info is None else remittance_of(info.element, local_names(info.ns))


def remittance_of(info: etree._Element | None, names: dict[str, str]) -> tuple[str, ...]:
    """`remittance` of an element: every `Ustrd`, every `Strd/CdtrRefInf/Ref`."""
    if info is None:
        return ()
    lines: list[str] = []
    refs: list[str] = []
    for child in info:
        name = names.get(child.tag)
        if name == "Ustrd":
            if text := text_of(child):
                lines.append(text)
        elif name == "Strd":
            for reference_info in child:
                if names.get(reference_info.tag) == "CdtrRefInf":
                    refs.extend(text for ref in reference_info
                                if names.get(ref.tag) == "Ref" and (text := text_of(ref)))
    return tuple(lines + refs)
