"""Reading a pain.001 `CstmrCdtTrfInitn` (versions .02 to .13) into a PaymentInitiation.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs (only what is read):
- .01 (2005) has another shape (`GrpId`, `PmtTx`, `FrstAgt`) and its XSD declares another
  namespace (`urn:iso:std:iso:20022:xsd:`, no `tech:`): never read, a Document claiming the
  `tech:` one is refused as unknown (bridge.iso.catalogue);
- .02 names its root `pain.001.001.02` (`CstmrCdtTrfInitn` from .03) and `PmtInfId` is optional
  there; its accounts are `IBAN`, `BBAN`, `UPIC` or `PrtryAcct` (`Othr` from .03): only an IBAN
  names a registered account;
- agents: `FinInstnId/BIC` in .02 and .03, `FinInstnId/BICFI` from .04 on;
- the initiating party's organisation id: `OrgId/BIC`, `BkPtyId`, `PrtryId` in .02; `BICOrBEI`, `Othr`
  in .03; `AnyBIC` and `Othr` from .04; `LEI` as well from .09 (in .02: `BkPtyId`, `PrtryId/Id`);
- `ReqdExctnDt` is an ISODate up to .07 and a `Dt`/`DtTm` choice from .08;
- `PmtId/UETR` exists from .09 on.
Everything else read (GrpHdr MsgId, CreDtTm, NbOfTxs, CtrlSum; PmtInf Dbtr, DbtrAcct, DbtrAgt,
ChrgBr; CdtTrfTxInf PmtId, Amt/InstdAmt, ChrgBr, CdtrAgt, Cdtr, CdtrAcct, RmtInf) has the same
name and place in every version.
"""
from __future__ import annotations

from lxml import etree

from bridge.initiations.initiation import InitiatingParty, PaymentInformation, PaymentInitiation
from bridge.iso import components
from bridge.iso.catalogue import message_type_of
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, to_date, to_datetime, to_decimal
from bridge.parties import Agent, Party
from bridge.payments.credit_transfer import CreditTransfer, GroupHeader

MESSAGE_FAMILY = "pain.001.001"
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(2, 14))
"""Versions this reader maps (.01: see above)."""
ROOT = "CstmrCdtTrfInitn"

_ORGANISATION_IDS = ("Othr/Id", "AnyBIC", "BICOrBEI", "LEI", "BkPtyId", "PrtryId/Id", "BIC")
"""Where an organisation's id sits in `Id/OrgId`, across versions: the first found names it."""


def read_payment_initiation(document: etree._Element) -> PaymentInitiation:
    """Map an XSD-valid pain.001 Document to a PaymentInitiation, in document order.

    Raises MessageReadError when `document` is not a pain.001.001.02-.13 Document.
    """
    message_type = message_type_of(etree.QName(document).namespace) or ""
    root_name = message_type if message_type == "pain.001.001.02" else ROOT
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS,
                                                 root_name)
    header, initiating_party = _group_header(root)
    blocks, start = [], 0
    for index, block in enumerate(root.findall("PmtInf")):
        read = _payment_information(index, block, start)
        blocks.append(read)
        start += len(read.transactions)
    return PaymentInitiation(message_type, header, initiating_party, tuple(blocks))


def organisation_id(party: Node | None) -> str | None:
    """The id of a party identified as an organisation (`Id/OrgId/...`), or None."""
    if party is None:
        return None
    return party.first_text(*(f"Id/OrgId/{path}" for path in _ORGANISATION_IDS))


def _group_header(root: Node) -> tuple[GroupHeader, InitiatingParty]:
    grp = root.find("GrpHdr")
    if grp is None or grp.text("MsgId") is None:
        raise MessageReadError(f"{ROOT} has no GrpHdr/MsgId")
    count, created = grp.text("NbOfTxs"), grp.text("CreDtTm")
    header = GroupHeader(
        message_id=grp.text("MsgId"),
        created_at=to_datetime(created),
        number_of_transactions=int(count) if count and count.isdigit() else 0,
        control_sum=to_decimal(grp.text("CtrlSum")),
        created_at_text=created,
    )
    party = grp.find("InitgPty")
    return header, InitiatingParty(party.text("Nm") if party is not None else None,
                                   organisation_id(party))


def _payment_information(index: int, block: Node, start: int) -> PaymentInformation:
    debtor = Party(name=block.text("Dbtr/Nm"), account=components.account(block.find("DbtrAcct")))
    debtor_agent = components.agent(block.find("DbtrAgt"))
    charge_bearer = block.text("ChrgBr")
    count = block.text("NbOfTxs")
    execution = block.first_text("ReqdExctnDt/Dt", "ReqdExctnDt/DtTm", "ReqdExctnDt")
    read = [_credit_transfer(start + position, tx, debtor, debtor_agent, charge_bearer)
            for position, tx in enumerate(block.findall("CdtTrfTxInf"))]
    transactions = tuple(tx for tx, _ in read)
    conversions = tuple((tx.index, currency) for tx, currency in read if currency)
    return PaymentInformation(index=index, payment_information_id=block.text("PmtInfId"),
                              debtor=debtor, debtor_agent=debtor_agent,
                              requested_execution_date=to_date(execution),
                              charge_bearer=charge_bearer, transactions=transactions,
                              number_of_transactions=int(count) if count and count.isdigit() else None,
                              control_sum=to_decimal(block.text("CtrlSum")),
                              conversions=conversions)


def _credit_transfer(index: int, tx: Node, debtor: Party, debtor_agent: Agent | None,
                     charge_bearer: str | None) -> tuple[CreditTransfer, str | None]:
    """The transaction, and the currency of transfer its equivalent amount asks for (or None)."""
    where = f"CdtTrfTxInf[{index}]"
    end_to_end_id = tx.text("PmtId/EndToEndId")
    if end_to_end_id is None:
        raise MessageReadError(f"{where} has no PmtId/EndToEndId")
    # An equivalent amount (EqvtAmt) is in the debtor account's currency, to be converted to
    # CcyOfTrf: read as its amount, and the conversion asked for kept (check_initiations).
    amount = (components.amount(tx.find("Amt/InstdAmt"), f"{where}/Amt/InstdAmt")
              or components.amount(tx.find("Amt/EqvtAmt/Amt"), f"{where}/Amt/EqvtAmt/Amt"))
    if amount is None:
        raise MessageReadError(f"{where} has no Amt/InstdAmt nor Amt/EqvtAmt")
    return CreditTransfer(
        index=index,
        end_to_end_id=end_to_end_id,
        amount=amount,
        debtor=debtor,
        creditor=Party(name=tx.text("Cdtr/Nm"), account=components.account(tx.find("CdtrAcct"))),
        instruction_id=tx.text("PmtId/InstrId"),
        uetr=tx.text("PmtId/UETR"),
        charge_bearer=tx.text("ChrgBr") or charge_bearer,
        debtor_agent=debtor_agent,
        creditor_agent=components.agent(tx.find("CdtrAgt")),
        remittance=components.remittance(tx.find("RmtInf")),
    ), tx.text("Amt/EqvtAmt/CcyOfTrf")
