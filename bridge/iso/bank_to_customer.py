"""Writing the bank-to-customer cash management reports: camt.052 (account report), camt.053
(statement) and camt.054 (debit/credit notification). The three are one shape under three names
(`BkToCstmrAcctRpt/Rpt`, `BkToCstmrStmt/Stmt`, `BkToCstmrDbtCdtNtfctn/Ntfctn`), released
together, so one writer serves them all from the same domain objects (bridge.statements); a
notification simply has no balances.

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
from bridge.iso.building import new_document
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

_UETR = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}")
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
        """The `Document` for `message` in `version` (the family's default when None)."""
        return _write(self, message, self.version(version or self.default_version))

    def message(self, message: StatementMessage, version: str | None = None, *,
                pretty: bool = True) -> bytes:
        """The message to publish or save: the bare Document, UTF-8 with an XML declaration
        (indented unless `pretty` is False)."""
        return etree.tostring(self.document(message, version), xml_declaration=True,
                              encoding="UTF-8", pretty_print=pretty)


@cache
def _versions(family: str, first: int) -> tuple[str, ...]:
    return tuple(f"{family}.001.{n:02d}" for n in range(first, 15))


ACCOUNT_REPORT = CashReport("camt.052", "BkToCstmrAcctRpt", "Rpt", "camt.052.001.08")
STATEMENT = CashReport("camt.053", "BkToCstmrStmt", "Stmt", "camt.053.001.08", first=2)
NOTIFICATION = CashReport("camt.054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "camt.054.001.08")
"""The .08 releases by default: the CBPR+ versions, which most correspondents read. camt.053
.01 is not written (the bridge reads statements from .02 on, and writes what it reads)."""


def _write(kind: CashReport, message: StatementMessage, version: str) -> etree._Element:
    number = int(version[-2:])
    document, add = new_document(version)

    def account(parent: etree._Element, name: str, account_id: AccountId) -> etree._Element:
        """`<name><Id>` with the IBAN, or `Othr/Id` with its scheme (code or proprietary) and
        issuer (.01: `PrtryAcct/Id`, which has neither)."""
        holder = add(parent, name)
        node = add(holder, "Id")
        if account_id.iban:
            add(node, "IBAN", account_id.iban)
        elif number == 1:
            add(add(node, "PrtryAcct"), "Id", (account_id.other or "")[:34])
        else:
            other = add(node, "Othr")
            add(other, "Id", (account_id.other or "")[:34])
            if account_id.scheme:
                add(add(other, "SchmeNm"), "Prtry" if account_id.proprietary else "Cd",
                    account_id.scheme[:35 if account_id.proprietary else 4])
            if account_id.issuer:
                add(other, "Issr", account_id.issuer[:35])
        return holder

    def agent(parent: etree._Element, name: str, found: Agent | None) -> None:
        if found is not None and found.bic:
            add(add(add(parent, name), "FinInstnId"), "BIC" if number <= 2 else "BICFI", found.bic)

    def party(parent: etree._Element, role: str, found: Party | None) -> None:
        if found is None:
            return
        if found.name or number >= 7:
            holder = add(parent, role)
            if number >= 7:
                holder = add(holder, "Pty")
            if found.name:
                add(holder, "Nm", found.name[:_MAX140])
        if found.account is not None and found.account.key:
            account(parent, f"{role}Acct", found.account)

    def amount(parent: etree._Element, name: str, value, currency: str) -> None:
        add(parent, name, str(value)).set("Ccy", currency)

    def balance(parent: etree._Element, found: Balance) -> None:
        node = add(parent, "Bal")
        kind_node = add(node, "Tp")
        add(kind_node if number == 1 else add(kind_node, "CdOrPrtry"), "Cd", found.type)
        amount(node, "Amt", found.amount.value, found.amount.currency)
        add(node, "CdtDbtInd", found.credit_debit)
        if found.date is not None:
            add(add(node, "Dt"), "Dt", found.date.isoformat())

    def details(parent: etree._Element, entry: StatementEntry, tx: TransactionDetails) -> None:
        node = add(parent, "TxDtls")
        uetr = (tx.uetr or "").lower()
        refs = [("MsgId", tx.message_id), ("AcctSvcrRef", tx.account_servicer_ref),
                ("InstrId", tx.instruction_id), ("EndToEndId", tx.end_to_end_id),
                ("UETR", uetr if number >= 8 and _UETR.fullmatch(uetr) else None),  # a UETR only from .08
                ("TxId", tx.transaction_id)]
        if any(value for _, value in refs):
            ref_node = add(node, "Refs")
            for name, value in refs:
                if value:
                    add(ref_node, name, value if name == "UETR" else value[:_MAX35])
        if tx.amount is not None:
            if number >= 3:
                amount(node, "Amt", tx.amount.value, tx.amount.currency)
                add(node, "CdtDbtInd", entry.credit_debit)
            else:
                amount(add(add(node, "AmtDtls"), "TxAmt"), "Amt", tx.amount.value, tx.amount.currency)
        if tx.debtor or tx.creditor:
            parties = add(node, "RltdPties")
            party(parties, "Dbtr", tx.debtor)
            party(parties, "Cdtr", tx.creditor)
        if (tx.debtor_agent and tx.debtor_agent.bic) or (tx.creditor_agent and tx.creditor_agent.bic):
            agents = add(node, "RltdAgts")
            agent(agents, "DbtrAgt", tx.debtor_agent)
            agent(agents, "CdtrAgt", tx.creditor_agent)
        if tx.remittance:
            info = add(node, "RmtInf")
            for line in tx.remittance:
                add(info, "Ustrd", line[:_MAX140])

    def entry(parent: etree._Element, found: StatementEntry) -> None:
        node = add(parent, "Ntry")
        if found.entry_ref and number >= 2:
            add(node, "NtryRef", found.entry_ref[:_MAX35])
        amount(node, "Amt", found.amount.value, found.amount.currency)
        add(node, "CdtDbtInd", found.credit_debit)
        if found.reversal:
            add(node, "RvslInd", "true")
        if number >= 7:
            add(add(node, "Sts"), "Cd", found.status)
        else:
            add(node, "Sts", found.status)
        if found.booked_at is not None:
            add(add(node, "BookgDt"), "DtTm", iso_utc_datetime(found.booked_at))
        elif found.booking_date is not None:
            add(add(node, "BookgDt"), "Dt", found.booking_date.isoformat())
        if found.value_date is not None:
            add(add(node, "ValDt"), "Dt", found.value_date.isoformat())
        if found.account_servicer_ref:
            add(node, "AcctSvcrRef", found.account_servicer_ref[:_MAX35])
        code = add(node, "BkTxCd")
        parts = (found.bank_transaction_code or "").split("/")
        if len(parts) == 3 and all(parts):
            domain = add(code, "Domn")
            add(domain, "Cd", parts[0])
            family = add(domain, "Fmly")
            add(family, "Cd", parts[1])
            add(family, "SubFmlyCd", parts[2])
        else:  # BkTxCd is mandatory; a proprietary code when there is no ISO one
            proprietary = add(code, "Prtry")
            add(proprietary, "Cd", (found.bank_transaction_code or "NTRF")[:_MAX35])
        if found.details:
            container = node if number == 1 else add(node, "NtryDtls")
            for tx in found.details:
                details(container, found, tx)

    def item(parent: etree._Element, found: Statement, created: datetime) -> None:
        node = add(parent, kind.item)
        add(node, "Id", found.statement_id[:_MAX35])
        if found.sequence_number is not None:
            add(node, "ElctrncSeqNb", str(found.sequence_number))
        add(node, "CreDtTm", iso_utc_datetime(found.created_at or created))
        if found.from_time is not None and found.to_time is not None:
            period = add(node, "FrToDt")
            add(period, "FrDtTm", iso_utc_datetime(found.from_time))
            add(period, "ToDtTm", iso_utc_datetime(found.to_time))
        acct = account(node, "Acct", found.account)
        if found.currency:
            add(acct, "Ccy", found.currency)
        if found.owner:
            add(add(acct, "Ownr"), "Nm", found.owner[:_MAX140])
        if found.servicer is not None:
            agent(acct, "Svcr", found.servicer)
        for b in found.balances:
            balance(node, b)
        if found.entries and found.balances:  # a notification (no balances) carries no totals
            summary = add(node, "TxsSummry")
            for name, side in (("TtlCdtNtries", True), ("TtlDbtNtries", False)):
                mine = [e for e in found.entries if (e.credit_debit == CREDIT) == side]
                totals = add(summary, name)
                add(totals, "NbOfNtries", str(len(mine)))
                add(totals, "Sum", str(sum((e.amount.value for e in mine), start=_zero(found))))
        for e in found.entries:
            entry(node, e)

    root = add(document, kind.root + ("V01" if number == 1 else ""))
    header = add(root, "GrpHdr")
    add(header, "MsgId", message.message_id[:_MAX35])
    created = message.created_at
    if created is None:
        raise ValueError(f"a {kind.family} message needs its creation time (GrpHdr/CreDtTm)")
    add(header, "CreDtTm", iso_utc_datetime(created))
    for s in message.statements:
        item(root, s, created)
    return document


def _zero(statement: Statement) -> Decimal:
    """Zero with the statement currency's decimals, so an empty sum reads `0.00`, not `0`."""
    currency = statement.currency or (statement.balances[0].amount.currency if statement.balances else None)
    return Amount.from_minor(0, currency).value if currency else Decimal(0)
