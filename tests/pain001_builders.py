"""Messages written for tests: small, XSD-valid pain.001 documents of any version (.02 to .13),
with or without an AppHdr naming the corporate's channel. Not a product module."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

NS = "urn:iso:std:iso:20022:tech:xsd:"
ISSUER = "TOKNDEFFXXX"


@dataclass
class Payment:
    """One CdtTrfTxInf."""

    amount: str = "100.00"
    currency: str = "EUR"
    creditor_iban: str | None = "DE17500199000602517730"
    creditor_other: str | None = None
    creditor_bic: str | None = ISSUER
    creditor_name: str = "Creditor"
    end_to_end_id: str = field(default_factory=lambda: "E2E-" + uuid.uuid4().hex[:10])
    instruction_id: str | None = field(default_factory=lambda: "INS-" + uuid.uuid4().hex[:10])
    uetr: str | None = None
    remittance: str | None = "Invoice 4711"


@dataclass
class Block:
    """One PmtInf: a debtor account and its payments."""

    debtor_iban: str | None = "DE82500199000417283905"
    debtor_other: str | None = None
    debtor_bic: str = ISSUER
    payments: list[Payment] = field(default_factory=lambda: [Payment()])
    block_id: str = field(default_factory=lambda: "PMTINF-" + uuid.uuid4().hex[:8])
    execution_date: str = "2026-12-01"  # ReqdExctnDt


def _account(iban: str | None, other: str | None, version: int) -> str:
    if iban:
        return f"<Id><IBAN>{iban}</IBAN></Id>"
    if version == 2:
        return f"<Id><PrtryAcct><Id>{other}</Id></PrtryAcct></Id>"
    return f"<Id><Othr><Id>{other}</Id><SchmeNm><Prtry>TOKENBANK</Prtry></SchmeNm></Othr></Id>"


def _organisation(channel: str, version: int) -> str:
    if version == 2:
        return f"<Id><OrgId><BkPtyId>{channel}</BkPtyId></OrgId></Id>"
    return f"<Id><OrgId><Othr><Id>{channel}</Id></Othr></OrgId></Id>"


def pain001(blocks: list[Block] | None = None, *, version: str = "09", msg_id: str | None = None,
            channel: str | None = "ACME-TREASURY", nb_of_txs: int | None = None,
            created: str = "2026-12-01T09:00:00") -> str:
    """A pain.001.001.<version> Document; `channel` the initiating party's organisation id."""
    blocks = blocks if blocks is not None else [Block()]
    n = int(version)
    bic = "BIC" if n <= 3 else "BICFI"
    payments = [p for b in blocks for p in b.payments]
    parts = []
    for block in blocks:
        date = block.execution_date if n < 8 else f"<Dt>{block.execution_date}</Dt>"
        txs = []
        for p in block.payments:
            uetr = f"<UETR>{p.uetr}</UETR>" if p.uetr and n >= 9 else ""
            instr = f"<InstrId>{p.instruction_id}</InstrId>" if p.instruction_id else ""
            agent = (f"<CdtrAgt><FinInstnId><{bic}>{p.creditor_bic}</{bic}></FinInstnId></CdtrAgt>"
                     if p.creditor_bic else "")
            account = (f"<CdtrAcct>{_account(p.creditor_iban, p.creditor_other, n)}</CdtrAcct>"
                       if p.creditor_iban or p.creditor_other else "")
            rmt = f"<RmtInf><Ustrd>{p.remittance}</Ustrd></RmtInf>" if p.remittance else ""
            txs.append(f"<CdtTrfTxInf><PmtId>{instr}<EndToEndId>{p.end_to_end_id}</EndToEndId>{uetr}"
                       f"</PmtId><Amt><InstdAmt Ccy=\"{p.currency}\">{p.amount}</InstdAmt></Amt>"
                       f"{agent}<Cdtr><Nm>{p.creditor_name}</Nm></Cdtr>{account}{rmt}</CdtTrfTxInf>")
        parts.append(
            f"<PmtInf><PmtInfId>{block.block_id}</PmtInfId><PmtMtd>TRF</PmtMtd>"
            + (f"<NbOfTxs>{len(block.payments)}</NbOfTxs>" if n > 2 else "")
            + f"<ReqdExctnDt>{date}</ReqdExctnDt>"
            f"<Dbtr><Nm>Debtor</Nm></Dbtr>"
            f"<DbtrAcct>{_account(block.debtor_iban, block.debtor_other, n)}</DbtrAcct>"
            f"<DbtrAgt><FinInstnId><{bic}>{block.debtor_bic}</{bic}></FinInstnId></DbtrAgt>"
            + "".join(txs) + "</PmtInf>")
    party = f"<InitgPty><Nm>Initiator</Nm>{_organisation(channel, n) if channel else ''}</InitgPty>"
    grouping = "<Grpg>MIXD</Grpg>" if n == 2 else ""
    root = "pain.001.001.02" if n == 2 else "CstmrCdtTrfInitn"
    return (f'<Document xmlns="{NS}pain.001.001.{version}"><{root}><GrpHdr>'
            f"<MsgId>{msg_id or 'PAIN-' + uuid.uuid4().hex[:12]}</MsgId><CreDtTm>{created}</CreDtTm>"
            f"<NbOfTxs>{nb_of_txs if nb_of_txs is not None else len(payments)}</NbOfTxs>"
            f"{grouping}{party}</GrpHdr>" + "".join(parts) + f"</{root}></Document>")


def with_app_header(document: str, channel: str = "ACME-TREASURY", to_bic: str = ISSUER,
                    header_version: str = "02", message_type: str = "pain.001.001.09",
                    business_message_id: str | None = None) -> str:
    """`document` in a SWIFT envelope with an AppHdr from the channel (`Fr/OrgId`) to `to_bic`."""
    ns = f"{NS}head.001.001.{header_version}"
    return ('<Envelope xmlns="urn:swift:xsd:envelope">'
            f'<AppHdr xmlns="{ns}"><Fr><OrgId><Nm>Channel</Nm><Id><OrgId><Othr><Id>{channel}</Id>'
            f"</Othr></OrgId></Id></OrgId></Fr><To><FIId><FinInstnId><BICFI>{to_bic}</BICFI>"
            f"</FinInstnId></FIId></To><BizMsgIdr>{business_message_id or 'BIZ-' + uuid.uuid4().hex[:10]}"
            f"</BizMsgIdr><MsgDefIdr>{message_type}</MsgDefIdr><CreDt>2026-12-01T09:00:00Z</CreDt>"
            f"</AppHdr>{document}</Envelope>")
