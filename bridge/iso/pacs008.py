"""Reading a pacs.008 `FIToFICstmrCdtTrf` (versions .02 to .14) into a CreditTransferMessage.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs:
- agents: `FinInstnId/BIC` in .02, `FinInstnId/BICFI` from .03 on;
- `PmtId/UETR` exists from .08 on (and `PmtId/TxId` becomes optional there);
- parties (`Dbtr`, `Cdtr`) carry `Nm` directly in every version: the `Pty` wrapper of newer
  messages is a camt.053 `RltdPties` matter, not a pacs.008 one;
- .14 (2026) differs from .13 (2025) only where the bridge does not read, so it is read exactly
  like .13. Element by element from `Document` (types renumbered, same names, order and facets
  elsewhere): `CdtTrfTxInf/RgltryRptg` now requires `DbtCdtRptgInd`, and in its `Dtls` the
  `Tp` text (Max35Text) becomes a `Cd`/`Prtry` choice and `Cd` is renamed `RptgCd`;
  `RmtInf/Strd` gains `SctiesData` (`UnqTxIdr`, `Amt`) before `AddtlRmtInf`. GrpHdr, PmtId
  (UETR pattern included), amounts, agents, parties, accounts and `Ustrd` are unchanged.
"""
from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from bridge.iso import components
from bridge.iso.errors import MessageReadError
from bridge.holds.conditions import NAMESPACE as CONDITION_NS
from bridge.holds.conditions import PLACE_AND_NAME as CONDITION_PLACE
from bridge.holds.conditions import Condition, ConditionError, condition_of
from bridge.iso.xmlnav import Node, to_date, to_datetime, to_decimal
from bridge.parties import Party
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader

MESSAGE_FAMILY = "pacs.008.001"
#: Versions this reader maps; .01 has another root (`pacs.008.001.01`) and another shape: it is
#: validated and answered (a pacs.002.001.02 RJCT), never applied.
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(2, 15))
ROOT = "FIToFICstmrCdtTrf"


def group_header_text(document: etree._Element | None, name: str) -> str | None:
    """The text of `GrpHdr/<name>` (`MsgId`, `CreDtTm`) under the Document's message root in
    any version (`pacs.008.001.01` in .01, `FIToFICstmrCdtTrf` from .02), schema-valid or not:
    what a reply to an unreadable message can still echo."""
    if document is None:
        return None
    namespace = etree.QName(document).namespace or ""
    for root in document:
        if isinstance(root.tag, str):
            found = Node(root, namespace).text(f"GrpHdr/{name}")
            if found is not None:
                return found
    return None


def read_credit_transfer_message(document: etree._Element) -> CreditTransferMessage:
    """Map an XSD-valid pacs.008 Document to a CreditTransferMessage, one CreditTransfer per
    `CdtTrfTxInf`, in document order.

    Raises MessageReadError when `document` is not a pacs.008.001.02-.14 Document.
    """
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS, ROOT)
    names = components.local_names(root.ns)
    header = group_header(root)
    transactions = tuple(_credit_transfer(index, tx, names, header)
                         for index, tx in enumerate(transaction_elements(root, names)))
    return CreditTransferMessage(message_type=message_type, group_header=header, transactions=transactions)


def transaction_elements(root: Node, names: dict[str, str]) -> Iterator[etree._Element]:
    """Every `CdtTrfTxInf` of a credit transfer message, in document order."""
    return (child for child in root.element if names.get(child.tag) == "CdtTrfTxInf")


def group_header(root: Node) -> GroupHeader:
    """`GrpHdr` of a credit transfer message (pacs.008, pacs.009: the same elements), its
    children read in one pass."""
    names = components.local_names(root.ns)
    # GrpHdr comes first: no need to look through every CdtTrfTxInf for it.
    grp = next((child for child in root.element if names.get(child.tag) == "GrpHdr"), None)
    if grp is None:
        raise MessageReadError("the message has no GrpHdr")
    parts = components.firsts(grp, names)
    text_of = components.text_of
    message_id = text_of(parts.get("MsgId"))
    if message_id is None:
        raise MessageReadError("GrpHdr has no MsgId")
    count = text_of(parts.get("NbOfTxs"))
    created = text_of(parts.get("CreDtTm"))
    settlement = parts.get("SttlmInf")
    return GroupHeader(
        message_id=message_id,
        created_at=to_datetime(created),
        number_of_transactions=int(count) if count and count.isdigit() else 0,
        control_sum=to_decimal(text_of(parts.get("CtrlSum"))),
        total_settlement_amount=components.amount_of(parts.get("TtlIntrBkSttlmAmt"),
                                                     "GrpHdr/TtlIntrBkSttlmAmt"),
        settlement_date=to_date(text_of(parts.get("IntrBkSttlmDt"))),
        settlement_method=(None if settlement is None
                           else text_of(components.firsts(settlement, names).get("SttlmMtd"))),
        instructing_agent=components.agent_of(parts.get("InstgAgt"), names),
        instructed_agent=components.agent_of(parts.get("InstdAgt"), names),
        created_at_text=created,
    )


def _credit_transfer(index: int, tx: etree._Element, names: dict[str, str],
                     header: GroupHeader) -> CreditTransfer:
    parts = components.firsts(tx, names)
    return read_transaction(index, tx, parts, names, header, debtor=party_of(parts, names, "Dbtr"),
                            creditor=party_of(parts, names, "Cdtr"),
                            charge_bearer=components.text_of(parts.get("ChrgBr")),
                            instructed_amount=components.amount_of(parts.get("InstdAmt"),
                                                                   f"CdtTrfTxInf[{index}]/InstdAmt"),
                            exchange_rate=to_decimal(components.text_of(parts.get("XchgRate"))))


def read_transaction(index: int, tx: etree._Element, parts: dict[str, etree._Element],
                     names: dict[str, str], header: GroupHeader, *, debtor: Party, creditor: Party,
                     **specific: object) -> CreditTransfer:
    """A `CdtTrfTxInf` of a credit transfer message (pacs.008, pacs.009: the same PmtId,
    amount, date, agents and remittance), with its parties and what its family adds; `parts`
    are its children by name (`components.firsts`)."""
    where = f"CdtTrfTxInf[{index}]"
    text_of, agent_of = components.text_of, components.agent_of
    payment_id = parts.get("PmtId")
    ids = {} if payment_id is None else components.firsts(payment_id, names)
    end_to_end_id = text_of(ids.get("EndToEndId"))
    if end_to_end_id is None:
        raise MessageReadError(f"{where} has no PmtId/EndToEndId")
    amount = components.amount_of(parts.get("IntrBkSttlmAmt"), f"{where}/IntrBkSttlmAmt")
    if amount is None:
        raise MessageReadError(f"{where} has no IntrBkSttlmAmt")
    condition, condition_problem = (_condition(tx, names) if "SplmtryData" in parts else (None, None))
    return CreditTransfer(
        index=index,
        end_to_end_id=end_to_end_id,
        amount=amount,
        debtor=debtor,
        creditor=creditor,
        instruction_id=text_of(ids.get("InstrId")),
        transaction_id=text_of(ids.get("TxId")),
        uetr=text_of(ids.get("UETR")),
        # Settlement date and agents may be given once for all in GrpHdr instead.
        settlement_date=to_date(text_of(parts.get("IntrBkSttlmDt"))) or header.settlement_date,
        debtor_agent=agent_of(parts.get("DbtrAgt"), names),
        creditor_agent=agent_of(parts.get("CdtrAgt"), names),
        instructing_agent=agent_of(parts.get("InstgAgt"), names) or header.instructing_agent,
        instructed_agent=agent_of(parts.get("InstdAgt"), names) or header.instructed_agent,
        remittance=components.remittance_of(parts.get("RmtInf"), names),
        **specific,
        condition=condition,
        condition_problem=condition_problem,
    )


def _condition(tx: etree._Element, names: dict[str, str]) -> tuple[Condition | None, str | None]:
    """A conditional payment's hashlock: `SplmtryData` (transaction level, from .04 on) with
    `PlcAndNm` `tokenbridge:condition`, whose `Envlp` holds `Cond` (bridge.holds.conditions).
    (None, why) for one given but unusable; (None, None) for none."""
    for data in tx:
        if names.get(data.tag) != "SplmtryData":
            continue
        parts = components.firsts(data, names)
        if components.text_of(parts.get("PlcAndNm")) != CONDITION_PLACE:
            continue
        envelope = parts.get("Envlp")
        cond = None if envelope is None else envelope.find(f"{{{CONDITION_NS}}}Cond")
        if cond is None:
            return None, f"SplmtryData {CONDITION_PLACE} has no Cond in {CONDITION_NS}"
        try:
            return condition_of(cond.findtext(f"{{{CONDITION_NS}}}Sha256"),
                                cond.findtext(f"{{{CONDITION_NS}}}Expiry")), None
        except ConditionError as exc:
            return None, str(exc)
    return None, None


def party_of(parts: dict[str, etree._Element], names: dict[str, str], role: str) -> Party:
    """`Dbtr`/`Cdtr` name with the account in `DbtrAcct`/`CdtrAcct`."""
    party = parts.get(role)
    name = None if party is None else components.text_of(components.firsts(party, names).get("Nm"))
    return Party(name=name, account=components.account_of(parts.get(f"{role}Acct"), names))
