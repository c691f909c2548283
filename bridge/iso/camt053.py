"""Reading a camt.053 `BkToCstmrStmt` (versions .02 to .14) into a StatementMessage.

The caller has already validated the Document against its own XSD; this module only maps it.
Differences between versions, checked against the official XSDs:
- agents: `FinInstnId/BIC` in .02, `FinInstnId/BICFI` from .03 on;
- entry status: `Sts` text up to .06, a choice `Sts/Cd` or `Sts/Prtry` from .07 on;
- `TxDtls/Amt` exists from .03 on; .02 only has `TxDtls/AmtDtls/TxAmt/Amt`;
- `RltdPties/Dbtr` and `Cdtr` hold `Nm` directly up to .06, and from .07 on a choice of
  `Pty` (a party) or `Agt` (a financial institution);
- `TxDtls/Refs/UETR` exists from .08 on;
- `Stmt/CreDtTm` is optional from .07 on, `Stmt/Acct/Id` from .09 on.
"""
from __future__ import annotations

from datetime import date

from lxml import etree

from bridge.iso import components
from bridge.iso.errors import MessageReadError
from bridge.iso.xmlnav import Node, to_date, to_datetime, to_decimal
from bridge.parties import AccountId, Party
from bridge.statements import (
    Balance,
    EntryTotal,
    Statement,
    StatementEntry,
    StatementMessage,
    TransactionDetails,
    TransactionsSummary,
)

MESSAGE_FAMILY = "camt.053.001"
#: Versions this reader maps; .01 has another root (`BkToCstmrStmtV01`).
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(2, 15))
ROOT = "BkToCstmrStmt"


def read_statement_message(document: etree._Element) -> StatementMessage:
    """Map an XSD-valid camt.053 Document to a StatementMessage: its statements, each with its
    balances and entries (and the transaction details behind them), in document order.

    Raises MessageReadError when `document` is not a camt.053.001.02-.14 Document.
    """
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS, ROOT)
    message_id = root.text("GrpHdr/MsgId")
    if message_id is None:
        raise MessageReadError(f"{ROOT} has no GrpHdr/MsgId")
    return StatementMessage(
        message_type=message_type,
        message_id=message_id,
        created_at=to_datetime(root.text("GrpHdr/CreDtTm")),
        statements=tuple(_statement(index, stmt) for index, stmt in enumerate(root.findall("Stmt"))),
    )


def _statement(index: int, stmt: Node) -> Statement:
    where = f"Stmt[{index}]"
    statement_id = stmt.text("Id")
    if statement_id is None:
        raise MessageReadError(f"{where} has no Id")
    sequence = to_decimal(stmt.text("ElctrncSeqNb"))
    return Statement(
        statement_id=statement_id,
        # From .09 on `Acct/Id` is optional (an account may be named by `Prxy` only): such a
        # statement reads with an empty AccountId, which matches no registered account.
        account=components.account(stmt.find("Acct")) or AccountId(),
        created_at=to_datetime(stmt.text("CreDtTm")),
        currency=stmt.text("Acct/Ccy"),
        owner=stmt.text("Acct/Ownr/Nm"),
        servicer=components.agent(stmt.find("Acct/Svcr")),
        from_time=to_datetime(stmt.text("FrToDt/FrDtTm")),
        to_time=to_datetime(stmt.text("FrToDt/ToDtTm")),
        sequence_number=int(sequence) if sequence is not None else None,
        balances=tuple(_balance(f"{where}/Bal[{i}]", bal) for i, bal in enumerate(stmt.findall("Bal"))),
        entries=tuple(_entry(f"{where}/Ntry[{i}]", i, ntry) for i, ntry in enumerate(stmt.findall("Ntry"))),
        summary=_summary(stmt.find("TxsSummry")),
    )


def _summary(summary: Node | None) -> TransactionsSummary | None:
    """`TxsSummry` totals (the same shape in every version from .02 to .14)."""
    if summary is None:
        return None

    def total(name: str) -> EntryTotal | None:
        found = summary.find(name)
        if found is None:
            return None
        number = found.text("NbOfNtries")  # Max15NumericText: digits only
        return EntryTotal(int(number) if number is not None else None, to_decimal(found.text("Sum")))
    return TransactionsSummary(total("TtlNtries"), total("TtlCdtNtries"), total("TtlDbtNtries"))


def _balance(where: str, bal: Node) -> Balance:
    amount = components.amount(bal.find("Amt"), f"{where}/Amt")
    if amount is None:
        raise MessageReadError(f"{where} has no Amt")
    return Balance(
        type=bal.first_text("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or "",
        amount=amount,
        credit_debit=_credit_debit(bal, where),
        date=_date_choice(bal.find("Dt")),
    )


def _entry(where: str, index: int, ntry: Node) -> StatementEntry:
    amount = components.amount(ntry.find("Amt"), f"{where}/Amt")
    if amount is None:
        raise MessageReadError(f"{where} has no Amt")
    return StatementEntry(
        index=index,
        amount=amount,
        credit_debit=_credit_debit(ntry, where),
        # Children first: from .07 on `Sts` is a Cd/Prtry choice and has no text of its own.
        status=ntry.first_text("Sts/Cd", "Sts/Prtry", "Sts") or "",
        booking_date=_date_choice(ntry.find("BookgDt")),
        booked_at=to_datetime(ntry.text("BookgDt/DtTm")),
        value_date=_date_choice(ntry.find("ValDt")),
        entry_ref=ntry.text("NtryRef"),
        account_servicer_ref=ntry.text("AcctSvcrRef"),
        reversal=_indicator(ntry.text("RvslInd")),
        bank_transaction_code=_bank_transaction_code(ntry.find("BkTxCd")),
        details=tuple(
            _details(f"{where}/TxDtls[{i}]", tx) for i, tx in enumerate(ntry.findall("NtryDtls/TxDtls"))
        ),
    )


def _details(where: str, tx: Node) -> TransactionDetails:
    parties = tx.find("RltdPties")
    agents = tx.find("RltdAgts")
    return TransactionDetails(
        # `Amt` from .03 on; `AmtDtls/TxAmt/Amt` is the only place in .02 and still allowed later.
        amount=components.amount(_first(tx, "Amt", "AmtDtls/TxAmt/Amt"), f"{where}/Amt"),
        message_id=tx.text("Refs/MsgId"),
        account_servicer_ref=tx.text("Refs/AcctSvcrRef"),
        instruction_id=tx.text("Refs/InstrId"),
        end_to_end_id=tx.text("Refs/EndToEndId"),
        transaction_id=tx.text("Refs/TxId"),
        uetr=tx.text("Refs/UETR"),
        debtor=_related_party(parties, "Dbtr"),
        creditor=_related_party(parties, "Cdtr"),
        debtor_agent=components.agent(agents.find("DbtrAgt")) if agents is not None else None,
        creditor_agent=components.agent(agents.find("CdtrAgt")) if agents is not None else None,
        remittance=components.remittance(tx.find("RmtInf")),
    )


def _first(node: Node, *paths: str) -> Node | None:
    return next((found for path in paths if (found := node.find(path)) is not None), None)


def _related_party(parties: Node | None, role: str) -> Party | None:
    """`RltdPties/Dbtr` (or `Cdtr`) with `DbtrAcct` (or `CdtrAcct`); None when neither is given."""
    if parties is None:
        return None
    # Up to .06 the name sits right under the role; from .07 under `Pty`, or under `Agt` when
    # the debtor or creditor is itself a bank.
    name = parties.first_text(f"{role}/Pty/Nm", f"{role}/Nm", f"{role}/Agt/FinInstnId/Nm")
    account = components.account(parties.find(f"{role}Acct"))
    if name is None and account is None:
        return None
    return Party(name=name, account=account)


def _credit_debit(node: Node, where: str) -> str:
    indicator = node.text("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise MessageReadError(f"{where}: CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    return indicator


def _date_choice(node: Node | None) -> date | None:
    """A `DateAndDateTime(2)Choice`: `Dt`, or the date part of `DtTm`."""
    return None if node is None else to_date(node.first_text("Dt", "DtTm"))


def _indicator(text: str | None) -> bool:
    return text in ("true", "1")  # xs:boolean


def _bank_transaction_code(code: Node | None) -> str | None:
    """`Domn/Cd` + `Fmly/Cd` + `Fmly/SubFmlyCd` as "PMNT/RCDT/ESCT", else the proprietary `Prtry/Cd`."""
    if code is None:
        return None
    domain, family, sub_family = (code.text(p) for p in ("Domn/Cd", "Domn/Fmly/Cd", "Domn/Fmly/SubFmlyCd"))
    if domain and family and sub_family:
        return f"{domain}/{family}/{sub_family}"
    return code.text("Prtry/Cd")
