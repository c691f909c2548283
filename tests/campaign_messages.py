"""The adversarial campaign's bank and its messages (tests/test_money_campaign.py): who the
accounts are, and XSD-valid pacs.008 (.02, .08 to .14), camt.053 (.02, .08) and pacs.004
(.09 to .15) written as
real traffic writes them: AppHdr or bare Document, BIC8 or BIC11, IBANs in lower case,
`Othr/Id` with or without its scheme, optional ids left out, batch entries, and the same
message serialised again another way (prefix, indentation, declaration, CRLF).

Not a product module, and not the bridge's own writers: the campaign must not lean on them."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from lxml import etree

from bridge.money import LEDGER_MAX_UNITS

NS = "urn:iso:std:iso:20022:tech:xsd:"
ENVELOPE = "urn:swift:xsd:envelope"
NOT_PROVIDED = "NOTPROVIDED"

ISSUER = "TOKNDEFFXXX"
FOREIGN = "BNPAFRPPXXX"  # another bank, listed in the allowed senders (as its BIC8)
UNLISTED = "BARCGB22XXX"  # another bank, not listed
ALLOWED_SENDERS = frozenset({ISSUER, FOREIGN[:8]})  # one BIC11 XXX, one BIC8: both forms
CURRENCIES = ("EUR", "JPY", "KWD")
EXPONENT = {"EUR": 2, "JPY": 0, "KWD": 3}
MAX_MINOR = LEDGER_MAX_UNITS
"""The largest amount, balance or supply the ledger holds exactly, in minor units."""
SCHEME = ("Prtry", "TOKENBANK")
"""The scheme of this bank's `Othr/Id` account numbers (as in samples/accounts.csv)."""


def bic_form(bic: str, short: bool) -> str:
    """A BIC11 with branch `XXX` written as itself or as its BIC8: the same institution."""
    return bic[:8] if short and bic.endswith("XXX") else bic


def major(minor: int, currency: str) -> str:
    """Minor units as the decimal text ISO 20022 amounts carry (EUR 2, JPY 0, KWD 3 decimals)."""
    exponent = EXPONENT[currency]
    if exponent == 0:
        return str(minor)
    return f"{minor // 10 ** exponent}.{minor % 10 ** exponent:0{exponent}d}"


# -- accounts --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Acct:
    """An account identification as a message writes it: an IBAN, or `Othr/Id` with a scheme
    (`("Prtry", "TOKENBANK")`, `("Cd", "CUID")`, or none) and an issuer."""

    iban: str | None = None
    other: str | None = None
    scheme: tuple[str, str] | None = None
    issuer: str | None = None

    def xml(self) -> str:
        if self.iban:
            return f"<Id><IBAN>{self.iban}</IBAN></Id>"
        scheme = f"<SchmeNm><{self.scheme[0]}>{self.scheme[1]}</{self.scheme[0]}></SchmeNm>" if self.scheme else ""
        issuer = f"<Issr>{self.issuer}</Issr>" if self.issuer else ""
        return f"<Id><Othr><Id>{self.other}</Id>{scheme}{issuer}</Othr></Id>"

    def lower(self) -> "Acct":
        """The IBAN with its BBAN in lower case (the country code must stay upper case to be
        XSD-valid): the same account, as some senders write it."""
        return replace(self, iban=self.iban[:4] + self.iban[4:].lower()) if self.iban else self

    def __repr__(self) -> str:
        if self.iban:
            return self.iban
        return f"{self.other}[{'/'.join(self.scheme) if self.scheme else 'no scheme'}" \
               f"{'; ' + self.issuer if self.issuer else ''}]"


@dataclass(frozen=True)
class Customer:
    """A registry row: this bank's account, tokenized on `wallet` (None for an omnibus account)."""

    account: Acct
    currency: str
    wallet: str | None
    status: str = "active"

    @property
    def kind(self) -> str:
        return "omnibus" if self.wallet is None else "wallet"


CUSTOMERS = (
    Customer(Acct(iban="DE82500199000417283905"), "EUR", "w-alice"),
    Customer(Acct(iban="NL68TOKN0417164300"), "EUR", "w-bruno"),  # letters in the BBAN
    Customer(Acct(other="TOKN-ALICE-EUR-2", scheme=SCHEME), "EUR", "w-alice"),  # Alice's 2nd account
    Customer(Acct(iban="DE28500199000385091644"), "EUR", "w-erik", "blocked"),
    Customer(Acct(other="JP-TANAKA-001", scheme=SCHEME), "JPY", "w-chiyo"),
    Customer(Acct(other="JP-SATO-002", scheme=SCHEME, issuer="TOKENBANK AG"), "JPY", "w-kenji"),
    Customer(Acct(iban="KW03TOKN0000000000000045301187"), "KWD", "w-dana"),
    Customer(Acct(iban="KW85TOKN0000000000000098765432"), "KWD", "w-fahad"),
)
OMNIBUS = {
    "EUR": Customer(Acct(iban="DE56500199000990000018"), "EUR", None),
    "JPY": Customer(Acct(other="TOKN-OMNIBUS-JPY", scheme=SCHEME), "JPY", None),
    "KWD": Customer(Acct(other="TOKN-OMNIBUS-KWD", scheme=SCHEME), "KWD", None),
}
LEGACY = {  # this bank's own accounts that are not tokenized (a MINT when they pay in)
    "EUR": Acct(iban="DE47500199000777000111"),
    "JPY": Acct(other="JP-LEGACY-0777"),
    "KWD": Acct(iban="KW98TOKN0000000000000045301999"),
}
ELSEWHERE = {  # other banks' customers, each with its bank
    "EUR": ((Acct(iban="FR7630004008280001058392658"), FOREIGN),
            (Acct(iban="GB52BARC20325373491826"), UNLISTED),
            (Acct(iban="PL09102010260000180294731256"), "BPKOPLPWXXX")),
    "JPY": ((Acct(other="BNP-TOKYO-4410"), FOREIGN), (Acct(other="MHCB-99812"), "MHCBJPJTXXX")),
    "KWD": ((Acct(iban="KW74NBOK0000000000001000372151"), "NBOKKWKWXXX"),
            (Acct(other="BNP-KWT-0091"), FOREIGN)),
}


def wallets_of(currency: str, active_only: bool = True) -> list[Customer]:
    return [c for c in CUSTOMERS if c.currency == currency and (c.status == "active" or not active_only)]


def registry_row(customer: Customer, written: str) -> dict[str, str]:
    """A registry CSV row, its account written `canonical`, `lower`, `grouped` (by 4, with
    spaces) or `grouped-lower`: a registry imported from a bank's files is written every way.
    `Othr` accounts carry their scheme in the `scheme` column (`Prtry:<name>` or `Cd:<code>`),
    ignored where the registry has none; only IBANs are rewritten."""
    account = customer.account
    text = account.iban or account.other
    if account.iban:
        if "grouped" in written:
            text = " ".join(text[i:i + 4] for i in range(0, len(text), 4))
        if "lower" in written:
            text = text.lower()
    row = {"account": text, "currency": customer.currency, "wallet": customer.wallet or "",
           "status": customer.status, "kind": customer.kind}
    if account.scheme:
        row["scheme"] = f"{account.scheme[0]}:{account.scheme[1]}"  # `Prtry:TOKENBANK`, `Cd:CUID`
    if account.issuer:
        row["issuer"] = account.issuer
    return row


# -- pacs.008 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditTransfer:
    """One `CdtTrfTxInf` as written; `pid` names the payment in the campaign (a resend of the
    message carries the same payments)."""

    pid: int
    currency: str
    amount: int  # minor units
    debtor: Acct
    debtor_agent: str
    creditor: Acct
    creditor_agent: str
    end_to_end_id: str
    tx_id: str | None = None
    uetr: str | None = None
    instr_id: str | None = None
    instructing_agent: str | None = None  # transaction-level InstgAgt (pacs.008 .08 on)

    def __repr__(self) -> str:
        ids = ",".join(f"{k}={v}" for k, v in (("e2e", self.end_to_end_id), ("tx", self.tx_id),
                                                 ("uetr", self.uetr and self.uetr[:8]),
                                                 ("instg", self.instructing_agent)) if v)
        return (f"P{self.pid}({major(self.amount, self.currency)} {self.currency} {self.debtor!r}@"
                f"{self.debtor_agent} -> {self.creditor!r}@{self.creditor_agent}; {ids})")


@dataclass(frozen=True)
class Pacs008:
    version: str  # "02", "08" .. "14"
    msg_id: str
    transactions: tuple[CreditTransfer, ...]
    group_instructing_agent: str | None
    header_from: str | None = None  # AppHdr Fr; None: a bare Document
    header_to: str = ISSUER
    control_sum: bool = True

    def __repr__(self) -> str:
        who = f"AppHdr {self.header_from}" if self.header_from else "bare"
        return (f"pacs.008.001.{self.version} {self.msg_id} ({who}, InstgAgt "
                f"{self.group_instructing_agent}): {list(self.transactions)!r}")


def _agent(tag: str, bic: str, version: str) -> str:
    element = "BIC" if version == "02" else "BICFI"
    return f"<{tag}><FinInstnId><{element}>{bic}</{element}></FinInstnId></{tag}>"


def pacs008_document(message: Pacs008) -> str:
    version = message.version
    txs = message.transactions
    total = sum(tx.amount for tx in txs)
    currencies = {tx.currency for tx in txs}
    ctrl = ""
    if message.control_sum and len(currencies) == 1:
        text = major(total, txs[0].currency)
        if len(text.replace(".", "")) <= 18:  # DecimalNumber: 18 digits at most
            ctrl = f"<CtrlSum>{text}</CtrlSum>"
    group_agent = (_agent("InstgAgt", message.group_instructing_agent, version)
                   if message.group_instructing_agent else "")
    parts = []
    for tx in txs:
        tx_id = tx.tx_id or (NOT_PROVIDED if version == "02" else None)  # mandatory in .02
        ids = "".join(f"<{tag}>{value}</{tag}>" for tag, value in (
            ("InstrId", tx.instr_id), ("EndToEndId", tx.end_to_end_id), ("TxId", tx_id),
            ("UETR", tx.uetr if version != "02" else None)) if value)
        instg = _agent("InstgAgt", tx.instructing_agent, version) if tx.instructing_agent else ""
        parts.append(
            f"<CdtTrfTxInf><PmtId>{ids}</PmtId>"
            f'<IntrBkSttlmAmt Ccy="{tx.currency}">{major(tx.amount, tx.currency)}</IntrBkSttlmAmt>'
            f"<IntrBkSttlmDt>2026-11-24</IntrBkSttlmDt><ChrgBr>SLEV</ChrgBr>{instg}"
            f"<Dbtr><Nm>Debtor {tx.pid}</Nm></Dbtr><DbtrAcct>{tx.debtor.xml()}</DbtrAcct>"
            f"{_agent('DbtrAgt', tx.debtor_agent, version)}{_agent('CdtrAgt', tx.creditor_agent, version)}"
            f"<Cdtr><Nm>Creditor {tx.pid}</Nm></Cdtr><CdtrAcct>{tx.creditor.xml()}</CdtrAcct>"
            f"<RmtInf><Ustrd>Campaign payment {tx.pid}</Ustrd></RmtInf></CdtTrfTxInf>")
    return (f'<Document xmlns="{NS}pacs.008.001.{version}"><FIToFICstmrCdtTrf><GrpHdr>'
            f"<MsgId>{message.msg_id}</MsgId><CreDtTm>2026-11-24T10:00:00Z</CreDtTm>"
            f"<NbOfTxs>{len(txs)}</NbOfTxs>{ctrl}<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>"
            f"{group_agent}</GrpHdr>{''.join(parts)}</FIToFICstmrCdtTrf></Document>")


@dataclass(frozen=True)
class ReturnedTx:
    """One pacs.004 `TxInf`: return `rid` of (part of) payment `pid`, named by its message and
    EndToEndId, or by its UETR."""

    rid: str
    pid: int
    currency: str
    amount: int  # minor units
    msg_id: str | None
    end_to_end_id: str | None
    uetr: str | None = None
    reason: str = "MD06"

    def __repr__(self) -> str:
        named = f"uetr={self.uetr[:8]}" if self.uetr else f"{self.msg_id}/{self.end_to_end_id}"
        return f"R{self.rid}(P{self.pid} {major(self.amount, self.currency)} {self.currency}; {named})"


@dataclass(frozen=True)
class Pacs004:
    version: str  # "02" .. "15"
    msg_id: str
    transactions: tuple[ReturnedTx, ...]
    group_instructing_agent: str | None
    header_from: str | None = None  # AppHdr Fr; None: a bare Document
    header_to: str = ISSUER

    def __repr__(self) -> str:
        who = f"AppHdr {self.header_from}" if self.header_from else "bare"
        return (f"pacs.004.001.{self.version} {self.msg_id} ({who}, InstgAgt "
                f"{self.group_instructing_agent}): {list(self.transactions)!r}")


def pacs004_document(message: Pacs004) -> str:
    version = message.version
    group_agent = (_agent("InstgAgt", message.group_instructing_agent, version)
                   if message.group_instructing_agent else "")
    parts = []
    for tx in message.transactions:
        group = (f"<OrgnlGrpInf><OrgnlMsgId>{tx.msg_id}</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08"
                 f"</OrgnlMsgNmId></OrgnlGrpInf>" if tx.msg_id else "")
        refs = "".join(f"<{tag}>{value}</{tag}>" for tag, value in (
            ("OrgnlEndToEndId", tx.end_to_end_id), ("OrgnlUETR", tx.uetr)) if value)
        parts.append(f"<TxInf><RtrId>{tx.rid}</RtrId>{group}{refs}"
                     f'<RtrdIntrBkSttlmAmt Ccy="{tx.currency}">{major(tx.amount, tx.currency)}</RtrdIntrBkSttlmAmt>'
                     f"<RtrRsnInf><Rsn><Cd>{tx.reason}</Cd></Rsn></RtrRsnInf></TxInf>")
    return (f'<Document xmlns="{NS}pacs.004.001.{version}"><PmtRtr><GrpHdr>'
            f"<MsgId>{message.msg_id}</MsgId><CreDtTm>2026-11-24T12:00:00Z</CreDtTm>"
            f"<NbOfTxs>{len(message.transactions)}</NbOfTxs><SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>"
            f"{group_agent}</GrpHdr>{''.join(parts)}</PmtRtr></Document>")


def app_header(sender: str, receiver: str, message_definition: str, business_id: str) -> str:
    fi = "<FIId><FinInstnId><BICFI>{}</BICFI></FinInstnId></FIId>"
    return (f'<AppHdr xmlns="{NS}head.001.001.02"><Fr>{fi.format(sender)}</Fr><To>{fi.format(receiver)}</To>'
            f"<BizMsgIdr>{business_id}</BizMsgIdr><MsgDefIdr>{message_definition}</MsgDefIdr>"
            f"<CreDt>2026-11-24T10:00:00Z</CreDt></AppHdr>")


# -- camt.053 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """One `TxDtls` of an entry: the payment it books (pid, None for none of ours), its amount
    as written (it may be `0.00` or have three decimals), references and related parties."""

    pid: int | None
    amount: str
    msg_id: str | None = None
    acct_ref: str | None = None
    end_to_end_id: str | None = None
    uetr: str | None = None
    tx_id: str | None = None
    creditor: Acct | None = None
    debtor: Acct | None = None

    def __repr__(self) -> str:
        refs = ",".join(f"{k}={v}" for k, v in (
            ("msg", self.msg_id), ("svcr", self.acct_ref), ("e2e", self.end_to_end_id),
            ("uetr", self.uetr and self.uetr[:8]), ("tx", self.tx_id)) if v)
        return f"P{self.pid}:{self.amount}({refs}; cdtr {self.creditor!r})"


@dataclass(frozen=True)
class Entry:
    amount: str
    credit: bool
    acct_ref: str | None
    parts: tuple[Part, ...]

    def __repr__(self) -> str:
        return f"{'CRDT' if self.credit else 'DBIT'} {self.amount} {list(self.parts)!r}"


@dataclass(frozen=True)
class Camt053:
    version: str  # "02" or "08"
    msg_id: str
    currency: str
    account: Acct
    servicer: str
    entries: tuple[Entry, ...]
    header_from: str | None = None
    header_to: str = ISSUER
    opening: int = 0  # minor units

    @property
    def closing(self) -> int:
        exponent = EXPONENT[self.currency]
        booked = 0
        for entry in self.entries:
            minor = int(Decimal(entry.amount).scaleb(exponent))  # the entry's total: whole minor units
            booked += minor if entry.credit else -minor
        return self.opening + booked

    def __repr__(self) -> str:
        who = f"AppHdr {self.header_from}" if self.header_from else f"bare, Svcr {self.servicer}"
        return f"camt.053.001.{self.version} {self.msg_id} {self.currency} ({who}): {list(self.entries)!r}"


def _statement_entry(entry: Entry, currency: str, version: str) -> str:
    cd = "CRDT" if entry.credit else "DBIT"
    details = []
    for part in entry.parts:
        refs = "".join(f"<{tag}>{value}</{tag}>" for tag, value in (
            ("MsgId", part.msg_id), ("AcctSvcrRef", part.acct_ref), ("EndToEndId", part.end_to_end_id),
            ("UETR", part.uetr if version != "02" else None), ("TxId", part.tx_id)) if value)
        amount = (f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{part.amount}</Amt></TxAmt></AmtDtls>' if version == "02"
                  else f'<Amt Ccy="{currency}">{part.amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>')
        parties = ""
        for role, acct in (("Dbtr", part.debtor), ("Cdtr", part.creditor)):
            if acct is not None:
                name = "<Nm>Someone</Nm>" if version == "02" else "<Pty><Nm>Someone</Nm></Pty>"
                parties += f"<{role}>{name}</{role}><{role}Acct>{acct.xml()}</{role}Acct>"
        details.append(f"<TxDtls>{f'<Refs>{refs}</Refs>' if refs else ''}{amount}"
                       f"{f'<RltdPties>{parties}</RltdPties>' if parties else ''}</TxDtls>")
    status = "<Sts>BOOK</Sts>" if version == "02" else "<Sts><Cd>BOOK</Cd></Sts>"
    return (f'<Ntry><Amt Ccy="{currency}">{entry.amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{status}'
            f"<BookgDt><DtTm>2026-11-24T12:00:00Z</DtTm></BookgDt><ValDt><Dt>2026-11-24</Dt></ValDt>"
            f"{f'<AcctSvcrRef>{entry.acct_ref}</AcctSvcrRef>' if entry.acct_ref else ''}"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{'RCDT' if entry.credit else 'ICDT'}</Cd>"
            f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls>{''.join(details)}</NtryDtls></Ntry>")


def _balance(kind: str, minor: int, currency: str) -> str:
    return (f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{major(abs(minor), currency)}</Amt>'
            f"<CdtDbtInd>{'CRDT' if minor >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>2026-11-24</Dt></Dt></Bal>")


def camt053_document(statement: Camt053) -> str:
    version, currency = statement.version, statement.currency
    bic = "BIC" if version == "02" else "BICFI"
    return (f'<Document xmlns="{NS}camt.053.001.{version}"><BkToCstmrStmt><GrpHdr>'
            f"<MsgId>{statement.msg_id}</MsgId><CreDtTm>2026-11-24T23:59:59Z</CreDtTm></GrpHdr><Stmt>"
            f"<Id>S-{statement.msg_id}</Id><CreDtTm>2026-11-24T23:59:59Z</CreDtTm>"
            f"<FrToDt><FrDtTm>2026-11-24T00:00:00Z</FrDtTm><ToDtTm>2026-11-24T23:59:59Z</ToDtTm></FrToDt>"
            f"<Acct>{statement.account.xml()}<Ccy>{currency}</Ccy>"
            f"<Svcr><FinInstnId><{bic}>{statement.servicer}</{bic}></FinInstnId></Svcr></Acct>"
            f"{_balance('OPBD', statement.opening, currency)}{_balance('CLBD', statement.closing, currency)}"
            f"{''.join(_statement_entry(e, currency, version) for e in statement.entries)}"
            f"</Stmt></BkToCstmrStmt></Document>")


# -- bytes on the wire -------------------------------------------------------------------------

@dataclass(frozen=True)
class Style:
    """How a message is serialised: the same message in other bytes."""

    declaration: bool = False
    prefix: bool = False  # the Document's elements as `p:Name`
    pretty: bool = False  # indented, one element a line
    crlf: bool = False


_TAG = re.compile(r"<(/?)([A-Za-z])")


def _prefixed(document: str) -> str:
    return _TAG.sub(r"<\1p:\2", document).replace('<p:Document xmlns="', '<p:Document xmlns:p="', 1)


def render(message: Pacs008 | Camt053 | Pacs004, style: Style = Style()) -> bytes:
    if isinstance(message, Pacs008):
        document, definition = pacs008_document(message), f"pacs.008.001.{message.version}"
    elif isinstance(message, Pacs004):
        document, definition = pacs004_document(message), f"pacs.004.001.{message.version}"
    else:
        document, definition = camt053_document(message), f"camt.053.001.{message.version}"
    if style.prefix:
        document = _prefixed(document)
    text = document
    if message.header_from:
        header = app_header(message.header_from, message.header_to, definition, f"B-{message.msg_id}")
        text = f'<Envelope xmlns="{ENVELOPE}">{header}{document}</Envelope>'
    if style.pretty:
        root = etree.fromstring(text.encode(), etree.XMLParser(remove_blank_text=True))
        text = etree.tostring(root, pretty_print=True, encoding="unicode")
    if style.declaration:
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    if style.crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")
