"""Writing the outgoing pacs.008 (`FIToFICstmrCdtTrf`, pacs.008.001.08) of a fiat leg.

One transaction per message, as a bare Document. Checked against the official XSD: GrpHdr
needs MsgId, CreDtTm, NbOfTxs and SttlmInf/SttlmMtd; a transaction needs PmtId/EndToEndId,
IntrBkSttlmAmt, ChrgBr, Dbtr, DbtrAgt, CdtrAgt and Cdtr; names are Max140Text and unstructured
remittance lines Max140Text; the UETR follows the lower-case UUID v4 pattern.
"""
from __future__ import annotations

from datetime import datetime

from lxml import etree

from bridge.initiations.fiat_leg import FIAT_LEG_VERSION, SETTLEMENT_METHOD, FiatLeg
from bridge.iso.apphdr import iso_utc_datetime
from bridge.iso.building import ChildAdder, new_document
from bridge.money import Amount
from bridge.parties import AccountId, Agent, Party

_MAX_TEXT = 140
_MAX_REMITTANCE_LINES = 99  # RmtInf/Ustrd is unbounded; a person reads a few


def write_fiat_leg(leg: FiatLeg, created_at: datetime) -> bytes:
    """The pacs.008.001.08 of `leg`, UTF-8 with an XML declaration."""
    document, add = new_document(FIAT_LEG_VERSION)
    root = add(document, "FIToFICstmrCdtTrf")
    header = add(root, "GrpHdr")
    add(header, "MsgId", leg.message_id)
    add(header, "CreDtTm", iso_utc_datetime(created_at))
    add(header, "NbOfTxs", "1")
    add(header, "TtlIntrBkSttlmAmt", _decimal(leg)).set("Ccy", leg.amount.currency)
    add(header, "IntrBkSttlmDt", leg.settlement_date.isoformat())
    add(add(header, "SttlmInf"), "SttlmMtd", SETTLEMENT_METHOD)
    _agent(add, header, "InstgAgt", Agent(bic=leg.issuer_bic))
    if leg.creditor_agent.bic:
        _agent(add, header, "InstdAgt", Agent(bic=leg.creditor_agent.bic))
    tx = add(root, "CdtTrfTxInf")
    payment = add(tx, "PmtId")
    if leg.instruction_id:
        add(payment, "InstrId", leg.instruction_id)
    add(payment, "EndToEndId", leg.end_to_end_id)
    add(payment, "TxId", leg.transaction_id)
    add(payment, "UETR", leg.uetr)
    add(tx, "IntrBkSttlmAmt", _decimal(leg)).set("Ccy", leg.amount.currency)
    add(tx, "ChrgBr", leg.charge_bearer)
    _party(add, tx, "Dbtr", leg.debtor)
    _agent(add, tx, "DbtrAgt", Agent(bic=leg.issuer_bic))
    _agent(add, tx, "CdtrAgt", leg.creditor_agent)
    _party(add, tx, "Cdtr", leg.creditor)
    if leg.remittance:
        information = add(tx, "RmtInf")
        for line in leg.remittance[:_MAX_REMITTANCE_LINES]:
            add(information, "Ustrd", line[:_MAX_TEXT])
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


def _decimal(leg: FiatLeg) -> str:
    """The amount with exactly its currency's decimals (what the ledger moved)."""
    return str(Amount.from_minor(leg.amount.to_minor(), leg.amount.currency).value)


def _agent(add: ChildAdder, parent: etree._Element, name: str, agent: Agent) -> None:
    institution = add(add(parent, name), "FinInstnId")
    if agent.bic:
        add(institution, "BICFI", agent.bic)
    if agent.member_id:
        add(add(institution, "ClrSysMmbId"), "MmbId", agent.member_id)
    if agent.name:
        add(institution, "Nm", agent.name[:_MAX_TEXT])


def _party(add: ChildAdder, parent: etree._Element, role: str, party: Party) -> None:
    element = add(parent, role)
    if party.name:
        add(element, "Nm", party.name[:_MAX_TEXT])
    if party.account is not None:
        _account(add, add(parent, f"{role}Acct"), party.account)


def _account(add: ChildAdder, parent: etree._Element, account: AccountId) -> None:
    identification = add(parent, "Id")
    if account.iban:
        add(identification, "IBAN", account.iban)
        return
    other = add(identification, "Othr")
    add(other, "Id", account.other)
    if account.scheme:
        add(add(other, "SchmeNm"), "Prtry" if account.proprietary else "Cd", account.scheme)
    if account.issuer:
        add(other, "Issr", account.issuer)
