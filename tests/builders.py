"""Messages written for tests: small, XSD-valid pacs.008 documents of any version, with knobs
for the business rules. Not a product module: the bridge reads messages, it does not build these."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

NS = "urn:iso:std:iso:20022:tech:xsd:"


@dataclass
class Tx:
    amount: str = "100.00"
    currency: str = "EUR"
    debtor_iban: str | None = "FR7630006000011234567890189"
    creditor_iban: str | None = "DE89370400440532013000"
    debtor_other: str | None = None
    creditor_other: str | None = None
    end_to_end_id: str = field(default_factory=lambda: "E2E-" + uuid.uuid4().hex[:10])
    tx_id: str | None = field(default_factory=lambda: "TX-" + uuid.uuid4().hex[:10])
    uetr: str | None = field(default_factory=lambda: str(uuid.uuid4()))
    debtor_bic: str = "BNPAFRPPXXX"
    creditor_bic: str = "TOKNDEFFXXX"
    remittance: str | None = "Invoice 4711"


def _account(iban: str | None, other: str | None) -> str:
    if iban:
        return f"<Id><IBAN>{iban}</IBAN></Id>"
    return f"<Id><Othr><Id>{other}</Id><SchmeNm><Prtry>TOKENBANK</Prtry></SchmeNm></Othr></Id>"


def pacs008(transactions: list[Tx] | None = None, *, version: str = "08", msg_id: str | None = None,
            nb_of_txs: int | None = None, ctrl_sum: str | None = "auto",
            instructing_bic: str = "BNPAFRPPXXX") -> str:
    """A pacs.008.001.<version> Document (versions 02 and 08..14)."""
    txs = transactions if transactions is not None else [Tx()]
    bic = "BIC" if version == "02" else "BICFI"
    total = sum((Decimal(t.amount) for t in txs), Decimal(0))
    ctrl = f"<CtrlSum>{total if ctrl_sum == 'auto' else ctrl_sum}</CtrlSum>" if ctrl_sum else ""
    parts = []
    for t in txs:
        uetr = f"<UETR>{t.uetr}</UETR>" if t.uetr and version != "02" else ""
        txid = f"<TxId>{t.tx_id}</TxId>" if t.tx_id else ("<TxId>NOTPROVIDED</TxId>" if version == "02" else "")
        dacct = f"<DbtrAcct>{_account(t.debtor_iban, t.debtor_other)}</DbtrAcct>" if (t.debtor_iban or t.debtor_other) else ""
        cacct = f"<CdtrAcct>{_account(t.creditor_iban, t.creditor_other)}</CdtrAcct>" if (t.creditor_iban or t.creditor_other) else ""
        rmt = f"<RmtInf><Ustrd>{t.remittance}</Ustrd></RmtInf>" if t.remittance else ""
        parts.append(
            f"<CdtTrfTxInf><PmtId><EndToEndId>{t.end_to_end_id}</EndToEndId>{txid}{uetr}</PmtId>"
            f"<IntrBkSttlmAmt Ccy=\"{t.currency}\">{t.amount}</IntrBkSttlmAmt>"
            f"<IntrBkSttlmDt>2026-11-24</IntrBkSttlmDt><ChrgBr>SLEV</ChrgBr>"
            f"<Dbtr><Nm>Debtor</Nm></Dbtr>{dacct}"
            f"<DbtrAgt><FinInstnId><{bic}>{t.debtor_bic}</{bic}></FinInstnId></DbtrAgt>"
            f"<CdtrAgt><FinInstnId><{bic}>{t.creditor_bic}</{bic}></FinInstnId></CdtrAgt>"
            f"<Cdtr><Nm>Creditor</Nm></Cdtr>{cacct}{rmt}</CdtTrfTxInf>")
    return (
        f'<Document xmlns="{NS}pacs.008.001.{version}"><FIToFICstmrCdtTrf><GrpHdr>'
        f"<MsgId>{msg_id or 'MSG-' + uuid.uuid4().hex[:12]}</MsgId>"
        f"<CreDtTm>2026-11-24T10:00:00Z</CreDtTm>"
        f"<NbOfTxs>{len(txs) if nb_of_txs is None else nb_of_txs}</NbOfTxs>{ctrl}"
        f"<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>"
        f"<InstgAgt><FinInstnId><{bic}>{instructing_bic}</{bic}></FinInstnId></InstgAgt>"
        f"</GrpHdr>{''.join(parts)}</FIToFICstmrCdtTrf></Document>")


def app_header(*, version: str = "02", msg_def: str = "pacs.008.001.08", sender: str = "BNPAFRPPXXX",
               receiver: str = "TOKNDEFFXXX", biz_msg_id: str = "BIZ-1", prefix: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}' if prefix else "xmlns"
    return (f'<{p}AppHdr {xmlns}="{NS}head.001.001.{version}">'
            f"<{p}Fr><{p}FIId><{p}FinInstnId><{p}BICFI>{sender}</{p}BICFI></{p}FinInstnId></{p}FIId></{p}Fr>"
            f"<{p}To><{p}FIId><{p}FinInstnId><{p}BICFI>{receiver}</{p}BICFI></{p}FinInstnId></{p}FIId></{p}To>"
            f"<{p}BizMsgIdr>{biz_msg_id}</{p}BizMsgIdr><{p}MsgDefIdr>{msg_def}</{p}MsgDefIdr>"
            f"<{p}CreDt>2026-11-24T10:00:00Z</{p}CreDt></{p}AppHdr>")


def swift_envelope(document: str, header: str) -> str:
    return f'<Envelope xmlns="urn:swift:xsd:envelope">{header}{document}</Envelope>'


@dataclass
class StatusTx:
    """One TxInf of a pacs.028: the references of the transaction asked about."""

    msg_id: str | None = None  # OrgnlGrpInf/OrgnlMsgId (with OrgnlMsgNmId pacs.008.001.08)
    end_to_end_id: str | None = None
    tx_id: str | None = None
    instr_id: str | None = None
    uetr: str | None = None  # written from version 03 on
    original_type: str = "pacs.008.001.08"


def pacs028(transactions: list[StatusTx], *, version: str = "03", msg_id: str | None = None,
            instructing_bic: str | None = "BNPAFRPPXXX") -> str:
    """A pacs.028.001.<version> Document (versions 01 to 07) asking about `transactions`."""
    agent = (f"<InstgAgt><FinInstnId><BICFI>{instructing_bic}</BICFI></FinInstnId></InstgAgt>"
             if instructing_bic else "")
    parts = []
    for number, t in enumerate(transactions, 1):
        group = (f"<OrgnlGrpInf><OrgnlMsgId>{t.msg_id}</OrgnlMsgId><OrgnlMsgNmId>{t.original_type}"
                 f"</OrgnlMsgNmId></OrgnlGrpInf>" if t.msg_id else "")
        refs = "".join(f"<{name}>{value}</{name}>" for name, value in (
            ("OrgnlInstrId", t.instr_id), ("OrgnlEndToEndId", t.end_to_end_id), ("OrgnlTxId", t.tx_id),
            ("OrgnlUETR", t.uetr if version not in ("01", "02") else None)) if value)
        parts.append(f"<TxInf><StsReqId>REQ-{number}</StsReqId>{group}{refs}</TxInf>")
    return (f'<Document xmlns="{NS}pacs.028.001.{version}"><FIToFIPmtStsReq><GrpHdr>'
            f"<MsgId>{msg_id or 'STS-' + uuid.uuid4().hex[:12]}</MsgId>"
            f"<CreDtTm>2026-11-24T11:00:00Z</CreDtTm>{agent}</GrpHdr>"
            f"{''.join(parts)}</FIToFIPmtStsReq></Document>")


@dataclass
class CancelTx:
    """One Undrlyg/TxInf of a camt.056: the transaction to cancel, by its references."""

    msg_id: str | None = None  # OrgnlGrpInf/OrgnlMsgId (with OrgnlMsgNmId pacs.008.001.08)
    end_to_end_id: str | None = None
    tx_id: str | None = None
    instr_id: str | None = None
    uetr: str | None = None  # written from version 08 on
    reason: str = "DUPL"


def camt056(transactions: list[CancelTx], *, version: str = "08", assignment_id: str | None = None,
            assigner_bic: str = "BNPAFRPPXXX", assignee_bic: str = "TOKNDEFFXXX",
            case_id: str | None = "CASE-1") -> str:
    """A camt.056.001.<version> Document (versions 01 to 12) asking to cancel `transactions`."""
    bic = "BIC" if version == "01" else "BICFI"
    reason = "Cd" if int(version) >= 6 else "Prtry"  # closed lists before .06: any code as Prtry
    parts = []
    for t in transactions:
        group = (f"<OrgnlGrpInf><OrgnlMsgId>{t.msg_id}</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08"
                 f"</OrgnlMsgNmId></OrgnlGrpInf>" if t.msg_id else "")
        refs = "".join(f"<{name}>{value}</{name}>" for name, value in (
            ("OrgnlInstrId", t.instr_id), ("OrgnlEndToEndId", t.end_to_end_id), ("OrgnlTxId", t.tx_id),
            ("OrgnlUETR", t.uetr if int(version) >= 8 else None)) if value)
        parts.append(f"<TxInf>{group}{refs}<CxlRsnInf><Rsn><{reason}>{t.reason}</{reason}></Rsn>"
                     f"</CxlRsnInf></TxInf>")
    agent = lambda b: f"<Agt><FinInstnId><{bic}>{b}</{bic}></FinInstnId></Agt>"  # noqa: E731
    case = f"<Case><Id>{case_id}</Id><Cretr>{agent(assigner_bic)}</Cretr></Case>" if case_id else ""
    return (f'<Document xmlns="{NS}camt.056.001.{version}"><FIToFIPmtCxlReq><Assgnmt>'
            f"<Id>{assignment_id or 'CXL-' + uuid.uuid4().hex[:12]}</Id>"
            f"<Assgnr>{agent(assigner_bic)}</Assgnr><Assgne>{agent(assignee_bic)}</Assgne>"
            f"<CreDtTm>2026-11-24T12:00:00Z</CreDtTm></Assgnmt>{case}"
            f"<Undrlyg>{''.join(parts)}</Undrlyg></FIToFIPmtCxlReq></Document>")


@dataclass
class ReturnTx:
    """One TxInf of a pacs.004: the return of (part of) an earlier transaction."""

    amount: str = "100.00"
    currency: str = "EUR"
    msg_id: str | None = None  # OrgnlGrpInf/OrgnlMsgId (with OrgnlMsgNmId pacs.008.001.08)
    end_to_end_id: str | None = None
    tx_id: str | None = None
    instr_id: str | None = None
    uetr: str | None = None  # written from version 09 on
    return_id: str | None = field(default_factory=lambda: "RTR-" + uuid.uuid4().hex[:10])
    reason: str = "AC04"
    original_type: str = "pacs.008.001.08"


def pacs004(transactions: list[ReturnTx], *, version: str = "09", msg_id: str | None = None,
            instructing_bic: str | None = "TOKNDEFFXXX", nb_of_txs: int | None = None) -> str:
    """A pacs.004.001.<version> Document (versions 01 to 15) returning `transactions`."""
    number = int(version)
    bic = "BIC" if number <= 2 else "BICFI"
    agent = (f"<InstgAgt><FinInstnId><{bic}>{instructing_bic}</{bic}></FinInstnId></InstgAgt>"
             if instructing_bic else "")
    parts = []
    for t in transactions:
        group = (f"<OrgnlGrpInf><OrgnlMsgId>{t.msg_id}</OrgnlMsgId><OrgnlMsgNmId>{t.original_type}"
                 f"</OrgnlMsgNmId></OrgnlGrpInf>" if t.msg_id else "")
        refs = "".join(f"<{name}>{value}</{name}>" for name, value in (
            ("OrgnlInstrId", t.instr_id), ("OrgnlEndToEndId", t.end_to_end_id), ("OrgnlTxId", t.tx_id),
            ("OrgnlUETR", t.uetr if number >= 9 else None)) if value)
        reason = (f"<RtrRsnInf><RtrRsn><Cd>{t.reason}</Cd></RtrRsn></RtrRsnInf>" if number == 1
                  else f"<RtrRsnInf><Rsn><Cd>{t.reason}</Cd></Rsn></RtrRsnInf>")
        return_id = f"<RtrId>{t.return_id}</RtrId>" if t.return_id else ""
        parts.append(f"<TxInf>{return_id}{group}{refs}"
                     f"<RtrdIntrBkSttlmAmt Ccy=\"{t.currency}\">{t.amount}</RtrdIntrBkSttlmAmt>{reason}</TxInf>")
    root = "pacs.004.001.01" if number == 1 else "PmtRtr"
    return (f'<Document xmlns="{NS}pacs.004.001.{version}"><{root}><GrpHdr>'
            f"<MsgId>{msg_id or 'RTR-' + uuid.uuid4().hex[:12]}</MsgId>"
            f"<CreDtTm>2026-11-24T12:00:00Z</CreDtTm>"
            f"<NbOfTxs>{len(transactions) if nb_of_txs is None else nb_of_txs}</NbOfTxs>"
            f"<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>{agent}</GrpHdr>"
            f"{''.join(parts)}</{root}></Document>")
