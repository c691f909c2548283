"""Business rules the XSDs cannot express, each with a stable rule id and an ISO reason code.

Rule ids are part of the bridge's outside (they appear in `validate --json` and in logs); the
reason codes are ISO 20022 ExternalStatusReason1Code values used in pacs.002 rejects.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from bridge.codes import Reason
from bridge.iso.findings import Finding
from bridge.money import Amount, decimals_of, is_active_currency, minor_units
from bridge.parties import Agent, Party
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage
from bridge.reconciliation.entries import CLOSING_TYPE, Inconsistency, statement_totals, summary_mismatches
from bridge.returns.return_message import PaymentReturnMessage
from bridge.statements import StatementMessage


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reason: Reason
    summary: str


NB_OF_TXS = Rule("grp.nb-of-txs", Reason.INVALID_NUMBER_OF_TRANSACTIONS,
                 "NbOfTxs equals the number of transactions")
CTRL_SUM = Rule("grp.ctrl-sum", Reason.INVALID_CONTROL_SUM,
                "CtrlSum equals the sum of the transaction amounts")
TOTAL_AMOUNT = Rule("grp.total-amount", Reason.INVALID_CONTROL_SUM,
                    "TtlIntrBkSttlmAmt equals the sum of the amounts")
CURRENCY = Rule("amount.currency", Reason.INVALID_TRANSACTION_CURRENCY,
                "the currency is an active ISO 4217 code")
PRECISION = Rule("amount.precision", Reason.INVALID_AMOUNT,
                 "no more decimals than the currency's minor units")
ZERO = Rule("amount.zero", Reason.ZERO_AMOUNT, "amounts are not zero")
NEGATIVE = Rule("amount.negative", Reason.INVALID_AMOUNT, "amounts are not negative")
IBAN_CHECK = Rule("account.iban", Reason.INCORRECT_ACCOUNT_NUMBER,
                  "an IBAN has valid structure and check digits")
BIC_FORMAT = Rule("agent.bic", Reason.BANK_IDENTIFIER_INCORRECT,
                  "a BIC has the ISO 9362 format and a real country")
UETR_V4 = Rule("tx.uetr", Reason.INVALID_FILE_FORMAT, "a UETR is a UUID version 4")
UNIQUE_IDS = Rule("tx.unique-ids", Reason.DUPLICATION, "transaction ids are unique within a message")
STATEMENT_BALANCES = Rule("stmt.balances", Reason.INVALID_CONTROL_SUM,
                          "opening booked + booked credits - booked debits = closing booked")
SUMMARY_COUNT = Rule("stmt.summary-count", Reason.INVALID_NUMBER_OF_TRANSACTIONS,
                     "TxsSummry NbOfNtries equals the number of entries")
SUMMARY_SUM = Rule("stmt.summary-sum", Reason.INVALID_CONTROL_SUM,
                   "TxsSummry Sum equals the sum of the entries' amounts")

RULES: tuple[Rule, ...] = (NB_OF_TXS, CTRL_SUM, TOTAL_AMOUNT, CURRENCY, PRECISION, ZERO, NEGATIVE,
                           IBAN_CHECK, BIC_FORMAT, UETR_V4, UNIQUE_IDS, STATEMENT_BALANCES,
                           SUMMARY_COUNT, SUMMARY_SUM)
"""Every business rule, for documentation and `validate --rules`."""

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _finding(rule: Rule, message: str, path: str, transaction: int | None = None) -> Finding:
    return Finding(message=message, rule=rule.id, reason=rule.reason, path=path,
                   transaction=transaction)


def check_amount(amount: Amount, path: str, transaction: int | None = None,
                 allow_zero: bool = False) -> Iterator[Finding]:
    """Currency active in ISO 4217; positive; no more decimals than the currency allows."""
    if not is_active_currency(amount.currency):
        yield _finding(CURRENCY, f"{amount.currency!r} is not an active ISO 4217 currency",
                       path, transaction)
        return
    if amount.value < 0:
        yield _finding(NEGATIVE, f"amount {amount} is negative", path, transaction)
    elif amount.value == 0 and not allow_zero:
        yield _finding(ZERO, f"amount {amount} is zero", path, transaction)
    try:
        exponent = minor_units(amount.currency)
    except ValueError:
        return  # metals and funds without minor units: nothing to check against
    if decimals_of(amount.value) > exponent:
        yield _finding(PRECISION, f"amount {amount} has more than {exponent} decimals "
                                  f"allowed for {amount.currency}", path, transaction)


# Counterparties recur across messages; schwifty's checks cost tens of microseconds each.
@lru_cache(maxsize=65536)
def iban_problem(iban: str) -> str | None:
    """Why an IBAN is invalid (structure, country, length, check digits), or None."""
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        return str(exc)
    return None


@lru_cache(maxsize=65536)
def bic_problem(bic: str) -> str | None:
    """Why a BIC is invalid (ISO 9362 format, country code), or None."""
    try:
        BIC(bic)
    except SchwiftyException as exc:
        return str(exc)
    return None


def check_iban(party: Party | None, path: str, transaction: int | None = None) -> Iterator[Finding]:
    if party is None or party.account is None or not party.account.iban:
        return
    problem = iban_problem(party.account.iban)
    if problem:
        yield _finding(IBAN_CHECK, f"IBAN {party.account.iban}: {problem}", path, transaction)


def check_bic(agent: Agent | None, path: str, transaction: int | None = None) -> Iterator[Finding]:
    if agent is None or not agent.bic:
        return
    problem = bic_problem(agent.bic)
    if problem:
        yield _finding(BIC_FORMAT, f"BIC {agent.bic}: {problem}", path, transaction)


def _transaction_findings(tx: CreditTransfer) -> Iterator[Finding]:
    at = f"/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[{tx.index + 1}]"
    yield from check_amount(tx.amount, f"{at}/IntrBkSttlmAmt", tx.index)
    yield from check_iban(tx.debtor, f"{at}/DbtrAcct", tx.index)
    yield from check_iban(tx.creditor, f"{at}/CdtrAcct", tx.index)
    for name, agent in (("DbtrAgt", tx.debtor_agent), ("CdtrAgt", tx.creditor_agent),
                        ("InstgAgt", tx.instructing_agent), ("InstdAgt", tx.instructed_agent)):
        yield from check_bic(agent, f"{at}/{name}", tx.index)
    if tx.uetr is not None and not _UUID4.match(tx.uetr):
        yield _finding(UETR_V4, f"UETR {tx.uetr!r} is not a lowercase UUID v4",
                       f"{at}/PmtId/UETR", tx.index)


def _duplicate_ids(transactions: Iterable[CreditTransfer]) -> Iterator[Finding]:
    seen: dict[tuple[str, str], int] = {}
    for tx in transactions:
        for field, value in (("TxId", tx.transaction_id), ("InstrId", tx.instruction_id),
                             ("UETR", tx.uetr)):
            if value is None:
                continue
            first = seen.setdefault((field, value), tx.index)
            if first != tx.index:
                yield _finding(UNIQUE_IDS, f"{field} {value!r} repeats transaction {first + 1}",
                               f"/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[{tx.index + 1}]/PmtId/{field}",
                               tx.index)


def check_credit_transfers(message: CreditTransferMessage) -> list[Finding]:
    """Every business-rule finding of a pacs.008; message-level ones have transaction=None."""
    header = message.group_header
    grp = "/Document/FIToFICstmrCdtTrf/GrpHdr"
    findings: list[Finding] = []
    if header.number_of_transactions != len(message.transactions):
        findings.append(_finding(NB_OF_TXS, f"NbOfTxs says {header.number_of_transactions}, "
                                            f"the message holds {len(message.transactions)}",
                                 f"{grp}/NbOfTxs"))
    total = sum((tx.amount.value for tx in message.transactions), Decimal(0))
    if header.control_sum is not None and header.control_sum != total:
        findings.append(_finding(CTRL_SUM, f"CtrlSum says {header.control_sum}, "
                                           f"the amounts add up to {total}", f"{grp}/CtrlSum"))
    declared = header.total_settlement_amount
    if declared is not None:
        currencies = {tx.amount.currency for tx in message.transactions}
        if currencies != {declared.currency} or declared.value != total:
            findings.append(_finding(TOTAL_AMOUNT, f"TtlIntrBkSttlmAmt says {declared}, the "
                                     f"amounts add up to {total} {'/'.join(sorted(currencies))}",
                                     f"{grp}/TtlIntrBkSttlmAmt"))
    for name, agent in (("InstgAgt", header.instructing_agent), ("InstdAgt", header.instructed_agent)):
        findings.extend(check_bic(agent, f"{grp}/{name}"))
    for tx in message.transactions:
        findings.extend(_transaction_findings(tx))
    findings.extend(_duplicate_ids(message.transactions))
    return findings


def check_returns(message: PaymentReturnMessage) -> list[Finding]:
    """Every business-rule finding of a pacs.004: NbOfTxs, each returned amount, return ids
    (RtrId) unique within the message."""
    root = "pacs.004.001.01" if message.message_type.endswith(".01") else "PmtRtr"
    count = len(message.transactions)
    findings: list[Finding] = []
    if message.number_of_transactions != count:
        findings.append(_finding(NB_OF_TXS, f"NbOfTxs says {message.number_of_transactions}, the "
                                            f"message holds {count}", f"/Document/{root}/GrpHdr/NbOfTxs"))
    seen: dict[str, int] = {}
    for tx in message.transactions:
        at = f"/Document/{root}/TxInf[{tx.index + 1}]"
        findings.extend(check_amount(tx.returned, f"{at}/RtrdIntrBkSttlmAmt", tx.index))
        if tx.return_id is not None and seen.setdefault(tx.return_id, tx.index) != tx.index:
            findings.append(_finding(UNIQUE_IDS, f"RtrId {tx.return_id!r} repeats transaction "
                                                 f"{seen[tx.return_id] + 1}", f"{at}/RtrId", tx.index))
    return findings


def check_statements(message: StatementMessage) -> list[Finding]:
    """Business-rule findings of a camt.053: currencies and precision of balances and entries."""
    findings: list[Finding] = []
    for s, statement in enumerate(message.statements, start=1):
        at = f"/Document/BkToCstmrStmt/Stmt[{s}]"
        for b, balance in enumerate(statement.balances, start=1):
            findings.extend(check_amount(balance.amount, f"{at}/Bal[{b}]/Amt", allow_zero=True))
        for entry in statement.entries:
            findings.extend(check_amount(entry.amount, f"{at}/Ntry[{entry.index + 1}]/Amt",
                                         allow_zero=True))
    return findings


def check_statement_totals(message: StatementMessage) -> list[Finding]:
    """Findings of a camt.053 that does not add up, by the reconciliation's own check: opening +
    booked entries != closing booked, or a TxsSummry total the entries do not make. (The bus
    does not refuse such a statement: reconciling it answers with a `statement_inconsistent`
    break; `validate` reports it.)"""
    findings: list[Finding] = []
    for s, statement in enumerate(message.statements, start=1):
        at = f"/Document/BkToCstmrStmt/Stmt[{s}]"
        findings.extend(_finding(SUMMARY_COUNT if m.is_count else SUMMARY_SUM, m.reason,
                                 f"{at}/TxsSummry/{m.element}") for m in summary_mismatches(statement))
        totals = statement_totals(statement)
        if isinstance(totals, Inconsistency) and totals.balances_do_not_add_up:
            closing = next(n for n, b in enumerate(statement.balances, start=1) if b.type == CLOSING_TYPE)
            findings.append(_finding(STATEMENT_BALANCES, totals.reason, f"{at}/Bal[{closing}]/Amt"))
    return findings
