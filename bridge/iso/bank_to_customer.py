"""Writing the bank-to-customer cash management reports: camt.052 (account report), camt.053
(statement) and camt.054 (debit/credit notification). The three are one shape under three names
(`BkToCstmrAcctRpt/Rpt`, `BkToCstmrStmt/Stmt`, `BkToCstmrDbtCdtNtfctn/Ntfctn`), released
together, so one writer serves them all from the same domain objects (bridge.statements); a
notification simply has no balances. The bridge's own camt.054s of settled postings are written
straight from the postings by bridge.notifications.camt054, with these elements and version
rules and the same bytes (tests/test_notification_writer.py).

Version differences, checked against the official XSDs of all three families:
- .01: the root ends in `V01`; `Acct/Id` is `IBAN` or `PrtryAcct/Id` (no `Othr`); `Bal/Tp/Cd`
  directly; no `NtryRef`; `TxDtls` directly under `Ntry` (no `NtryDtls`);
- agents: `FinInstnId/BIC` up to .02, `FinInstnId/BICFI` from .03 on;
- entry status: `Sts` text (BOOK, PDNG, INFO) up to .06, `Sts/Cd` from .07 on;
- `TxDtls/Amt` and `TxDtls/CdtDbtInd` from .03 on; .01 and .02 have `TxDtls/AmtDtls/TxAmt/Amt`;
- `RltdPties/Dbtr` and `Cdtr` hold `Nm` directly up to .06 and under `Pty` from .07 on;
- `TxDtls/Refs/UETR` from .08 on;
- the item's `CreDtTm` is mandatory up to .06 (the writer always writes it).
Everything else written (GrpHdr, FrToDt, Acct, Bal, TxsSummry credit and debit totals, Ntry,
BkTxCd, RltdAgts, RmtInf/Ustrd) has the same names and order in all of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from datetime import datetime
from decimal import Decimal

from lxml import etree

from bridge.iso.apphdr import iso_utc_datetime
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.iso.pacs002 import UETR_PATTERN
from bridge.money import Amount
from bridge.parties import AccountId, Agent, Party
from bridge.statements import (
    CREDIT,
    Balance,
    Statement,
    StatementEntry,
    StatementMessage,
    TransactionDetails,
)

_MAX35 = 35
_MAX140 = 140


@dataclass(frozen=True, slots=True)
class CashReport:
    """One of the three families: its message type prefix, root and item element names, and
    the versions the bridge writes."""

    family: str  # "camt.053"
    root: str  # "BkToCstmrStmt"
    item: str  # "Stmt"
    default_version: str
    first: int = 1  # the first version written

    @property
    def versions(self) -> tuple[str, ...]:
        return _versions(self.family, self.first)

    def version(self, text: str) -> str:
        """`08`, `8` or `camt.053.001.08` -> `camt.053.001.08`; ValueError for a version the
        writer does not write."""
        text = text.strip()
        version = f"{self.family}.001.{int(text):02d}" if text.isdigit() else text
        if version not in self.versions:
            raise ValueError(f"{text!r} is not a {self.family} version the bridge writes "
                             f"({self.versions[0]} to {self.versions[-1]})")
        return version

    def document(self, message: StatementMessage, version: str | None = None) -> etree._Element:
        """The `Document` for `message` in `version` (the family's default when None), as an
        element tree (parsed from `message`: for callers that want to look inside)."""
        return etree.fromstring(self.message(message, version, pretty=False))

    def message(self, message: StatementMessage, version: str | None = None, *,
                pretty: bool = True) -> bytes:
        """The message to publish or save: the bare Document, UTF-8 with an XML declaration;
        indented for people unless `pretty` is False (notifications: written, never re-read)."""
        body = _write(self, message, self.version(version or self.default_version)).encode()
        if not pretty:
            return body
        return etree.tostring(etree.fromstring(body), xml_declaration=True, encoding="UTF-8",
                              pretty_print=True)


@cache
def _versions(family: str, first: int) -> tuple[str, ...]:
    return tuple(f"{family}.001.{n:02d}" for n in range(first, 15))


ACCOUNT_REPORT = CashReport("camt.052", "BkToCstmrAcctRpt", "Rpt", "camt.052.001.08")
STATEMENT = CashReport("camt.053", "BkToCstmrStmt", "Stmt", "camt.053.001.08", first=2)
NOTIFICATION = CashReport("camt.054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "camt.054.001.08")
"""The .08 releases by default: the CBPR+ versions, which most correspondents read. camt.053
.01 is not written (the bridge reads statements from .02 on, and writes what it reads)."""


def _write(kind: CashReport, message: StatementMessage, version: str) -> str:
    """The Document as text. Written as text, not as an element tree: a notification goes out
    for every account of every payment, and an element tree costs about a microsecond per
    element (a statement has a hundred thousand); every value goes through `xml_text`."""
    number = int(version[-2:])
    out: list[str] = []
    w = out.append

    def account(name: str, account_id: AccountId, inside: str = "") -> str:
        return f"<{name}><Id>{account_identification(account_id, number)}</Id>{inside}</{name}>"

    def agent(name: str, found: Agent | None) -> str:
        return agent_element(name, found, number)

    def party(role: str, found: Party | None) -> str:
        if found is None:
            return ""
        text = ""
        if found.name or number >= 7:
            name = f"<Nm>{xml_text(found.name[:_MAX140])}</Nm>" if found.name else ""
            text = f"<{role}><Pty>{name}</Pty></{role}>" if number >= 7 else f"<{role}>{name}</{role}>"
        if found.account is not None and found.account.key:
            text += account(f"{role}Acct", found.account)
        return text

    def amount(name: str, value, currency: str) -> str:
        return f'<{name} Ccy="{xml_text(currency)}">{value}</{name}>'

    def balance(found: Balance) -> None:
        kind_code = f"<Cd>{xml_text(found.type)}</Cd>"
        w(f"<Bal><Tp>{kind_code if number == 1 else f'<CdOrPrtry>{kind_code}</CdOrPrtry>'}</Tp>"
          f"{amount('Amt', found.amount.value, found.amount.currency)}"
          f"<CdtDbtInd>{found.credit_debit}</CdtDbtInd>")
        if found.date is not None:
            w(f"<Dt><Dt>{found.date.isoformat()}</Dt></Dt>")
        w("</Bal>")

    def details(entry: StatementEntry, tx: TransactionDetails) -> None:
        w("<TxDtls>")
        uetr = (tx.uetr or "").lower()
        refs = [("MsgId", tx.message_id), ("AcctSvcrRef", tx.account_servicer_ref),
                ("InstrId", tx.instruction_id), ("EndToEndId", tx.end_to_end_id),
                ("UETR", uetr if number >= 8 and UETR_PATTERN.fullmatch(uetr) else None),  # a UETR only from .08
                ("TxId", tx.transaction_id)]
        if any(value for _, value in refs):
            w("<Refs>" + "".join(f"<{name}>{xml_text(value if name == 'UETR' else value[:_MAX35])}</{name}>"
                                 for name, value in refs if value) + "</Refs>")
        if tx.amount is not None:
            if number >= 3:
                w(amount("Amt", tx.amount.value, tx.amount.currency)
                  + f"<CdtDbtInd>{entry.credit_debit}</CdtDbtInd>")
            else:
                w(f"<AmtDtls><TxAmt>{amount('Amt', tx.amount.value, tx.amount.currency)}</TxAmt></AmtDtls>")
        if tx.debtor or tx.creditor:
            w(f"<RltdPties>{party('Dbtr', tx.debtor)}{party('Cdtr', tx.creditor)}</RltdPties>")
        if (tx.debtor_agent and tx.debtor_agent.bic) or (tx.creditor_agent and tx.creditor_agent.bic):
            w(f"<RltdAgts>{agent('DbtrAgt', tx.debtor_agent)}{agent('CdtrAgt', tx.creditor_agent)}</RltdAgts>")
        if tx.remittance:
            w("<RmtInf>" + "".join(f"<Ustrd>{xml_text(line[:_MAX140])}</Ustrd>" for line in tx.remittance)
              + "</RmtInf>")
        w("</TxDtls>")

    def entry(found: StatementEntry) -> None:
        w("<Ntry>")
        if found.entry_ref and number >= 2:
            w(f"<NtryRef>{xml_text(found.entry_ref[:_MAX35])}</NtryRef>")
        w(amount("Amt", found.amount.value, found.amount.currency)
          + f"<CdtDbtInd>{found.credit_debit}</CdtDbtInd>")
        if found.reversal:
            w("<RvslInd>true</RvslInd>")
        status = xml_text(found.status)
        w(f"<Sts><Cd>{status}</Cd></Sts>" if number >= 7 else f"<Sts>{status}</Sts>")
        if found.booked_at is not None:
            w(f"<BookgDt><DtTm>{iso_utc_datetime(found.booked_at)}</DtTm></BookgDt>")
        elif found.booking_date is not None:
            w(f"<BookgDt><Dt>{found.booking_date.isoformat()}</Dt></BookgDt>")
        if found.value_date is not None:
            w(f"<ValDt><Dt>{found.value_date.isoformat()}</Dt></ValDt>")
        if found.account_servicer_ref:
            w(f"<AcctSvcrRef>{xml_text(found.account_servicer_ref[:_MAX35])}</AcctSvcrRef>")
        parts = (found.bank_transaction_code or "").split("/")
        if len(parts) == 3 and all(parts):
            domain, family, sub = (xml_text(part) for part in parts)
            w(f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd>"
              f"</Fmly></Domn></BkTxCd>")
        else:  # BkTxCd is mandatory; a proprietary code when there is no ISO one
            w(f"<BkTxCd><Prtry><Cd>{xml_text((found.bank_transaction_code or 'NTRF')[:_MAX35])}</Cd>"
              f"</Prtry></BkTxCd>")
        if found.details:
            if number > 1:
                w("<NtryDtls>")
            for tx in found.details:
                details(found, tx)
            if number > 1:
                w("</NtryDtls>")
        w("</Ntry>")

    def item(found: Statement, created: datetime) -> None:
        w(f"<{kind.item}><Id>{xml_text(found.statement_id[:_MAX35])}</Id>")
        if found.sequence_number is not None:
            w(f"<ElctrncSeqNb>{found.sequence_number}</ElctrncSeqNb>")
        w(f"<CreDtTm>{iso_utc_datetime(found.created_at or created)}</CreDtTm>")
        if found.from_time is not None and found.to_time is not None:
            w(f"<FrToDt><FrDtTm>{iso_utc_datetime(found.from_time)}</FrDtTm>"
              f"<ToDtTm>{iso_utc_datetime(found.to_time)}</ToDtTm></FrToDt>")
        inside = f"<Ccy>{xml_text(found.currency)}</Ccy>" if found.currency else ""
        if found.owner:
            inside += f"<Ownr><Nm>{xml_text(found.owner[:_MAX140])}</Nm></Ownr>"
        inside += agent("Svcr", found.servicer)
        w(account("Acct", found.account, inside))
        for b in found.balances:
            balance(b)
        if found.entries and found.balances:  # a notification (no balances) carries no totals
            w("<TxsSummry>")
            for name, side in (("TtlCdtNtries", True), ("TtlDbtNtries", False)):
                mine = [e for e in found.entries if (e.credit_debit == CREDIT) == side]
                total = sum((e.amount.value for e in mine), start=_zero(found))
                w(f"<{name}><NbOfNtries>{len(mine)}</NbOfNtries><Sum>{total}</Sum></{name}>")
            w("</TxsSummry>")
        for e in found.entries:
            entry(e)
        w(f"</{kind.item}>")

    created = message.created_at
    if created is None:
        raise ValueError(f"a {kind.family} message needs its creation time (GrpHdr/CreDtTm)")
    root = kind.root + ("V01" if number == 1 else "")
    w(f'<?xml version=\'1.0\' encoding=\'UTF-8\'?>\n<Document xmlns="{ISO_NAMESPACE_PREFIX}{version}">'
      f"<{root}><GrpHdr><MsgId>{xml_text(message.message_id[:_MAX35])}</MsgId>"
      f"<CreDtTm>{iso_utc_datetime(created)}</CreDtTm></GrpHdr>")
    for s in message.statements:
        item(s, created)
    w(f"</{root}></Document>\n")
    return "".join(out)


def account_identification(account_id: AccountId, number: int) -> str:
    """What goes in an account's `Id` in version `number`: the IBAN, or `Othr/Id` with its
    scheme (code or proprietary) and issuer (.01: `PrtryAcct/Id`, which has neither)."""
    if account_id.iban:
        return f"<IBAN>{xml_text(account_id.iban)}</IBAN>"
    if number == 1:
        return f"<PrtryAcct><Id>{xml_text((account_id.other or '')[:34])}</Id></PrtryAcct>"
    ident = f"<Othr><Id>{xml_text((account_id.other or '')[:34])}</Id>"
    if account_id.scheme:
        choice = "Prtry" if account_id.proprietary else "Cd"
        scheme = account_id.scheme[:35 if account_id.proprietary else 4]
        ident += f"<SchmeNm><{choice}>{xml_text(scheme)}</{choice}></SchmeNm>"
    if account_id.issuer:
        ident += f"<Issr>{xml_text(account_id.issuer[:35])}</Issr>"
    return ident + "</Othr>"


def agent_element(name: str, found: Agent | None, number: int) -> str:
    """`<name>` with the agent's BIC (`BIC` up to .02, `BICFI` from .03 on); "" without one."""
    if found is None or not found.bic:
        return ""
    bic = "BIC" if number <= 2 else "BICFI"
    return f"<{name}><FinInstnId><{bic}>{xml_text(found.bic)}</{bic}></FinInstnId></{name}>"


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_PLAIN = re.compile("[&<>\"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """A value as XML character data (or an attribute's): markup escaped, and what XML 1.0
    cannot hold at all replaced by `?`. Most values (references, IBANs, amounts) need neither:
    one scan tells."""
    if _NOT_PLAIN.search(value) is None:
        return value
    return _NOT_XML.sub("?", value).translate(_ESCAPES)


def _zero(statement: Statement) -> Decimal:
    """Zero with the statement currency's decimals, so an empty sum reads `0.00`, not `0`."""
    currency = statement.currency or (statement.balances[0].amount.currency if statement.balances else None)
    return Amount.from_minor(0, currency).value if currency else Decimal(0)
