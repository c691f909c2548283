"""A camt.054 written straight from the postings it notifies, as text.

A notification goes out for every account of every settled payment, so it is written without
the statement objects (Statement, StatementEntry, TransactionDetails, Party) that the camt.052
and camt.053 writer (bridge.iso.bank_to_customer) takes: booked the same way
(bridge.statements_out.journal: AcctSvcrRef, bank transaction code, reversal, the wallets on
either side with their accounts), with the same version differences, the same bytes
(tests/test_notification_writer.py compares the two for every version and validates against
the official XSDs). What is the same for several notices of one unit of work (an account's
identification, a booking time) is formatted once, for the unit only (`UnitFormats`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bridge.accounts import RegisteredAccount
from bridge.iso.apphdr import iso_utc_datetime
from bridge.iso.bank_to_customer import NOTIFICATION, account_identification, agent_element, xml_text
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.iso.pacs002 import UETR_PATTERN
from bridge.money import Amount
from bridge.parties import Agent
from bridge.ports import Posting, issuance_holder
from bridge.reconciliation.statement_mints import is_reversal, ledger_reference
from bridge.statements_out.journal import account_id, bank_transaction_code

_MAX35 = 35
_MAX140 = 140


class UnitFormats:
    """What one unit of work's notices share, formatted once: each registered account's `Id`
    and each booking time. Made per unit (`Notifications.of`), never kept beyond it."""

    def __init__(self, number: int) -> None:
        self.number = number
        self._ids: dict[RegisteredAccount, tuple[str, bool]] = {}
        self._times: dict[datetime, str] = {}

    def identification(self, account: RegisteredAccount) -> tuple[str, bool]:
        """The account's `Id` content, and whether it identifies anything (a party's account
        is written only then)."""
        if account not in self._ids:
            found = account_id(account)
            self._ids[account] = account_identification(found, self.number), bool(found.key)
        return self._ids[account]

    def time(self, moment: datetime) -> str:
        if moment not in self._times:
            self._times[moment] = iso_utc_datetime(moment)
        return self._times[moment]


class NotificationWriter:
    """camt.054 `version`, as the bank `servicer_bic`: what depends only on them is prepared once."""

    def __init__(self, version: str, servicer_bic: str | None = None) -> None:
        self.version = NOTIFICATION.version(version)
        number = self.number = int(self.version[-2:])
        root = NOTIFICATION.root + ("V01" if number == 1 else "")
        self._head = (f"<?xml version='1.0' encoding='UTF-8'?>\n"
                      f'<Document xmlns="{ISO_NAMESPACE_PREFIX}{self.version}"><{root}><GrpHdr><MsgId>')
        self._tail = f"</Ntfctn></{root}></Document>\n"
        self._servicer = agent_element("Svcr", Agent(bic=servicer_bic) if servicer_bic else None, number)
        self._status = "<Sts><Cd>BOOK</Cd></Sts>" if number >= 7 else "<Sts>BOOK</Sts>"
        self._details = (("<NtryDtls><TxDtls>", "</TxDtls></NtryDtls>") if number > 1
                         else ("<TxDtls>", "</TxDtls>"))

    def write(self, message_id: str, created: datetime, account: RegisteredAccount,
              postings: Sequence[Posting], named: Mapping[str, RegisteredAccount],
              formats: UnitFormats) -> bytes:
        """The camt.054 `message_id` to `account` with an entry per posting (the holder's legs),
        the wallets on either side named with their accounts in `named`."""
        ident = xml_text(message_id[:_MAX35])
        at = formats.time(created)
        inside = f"<Ccy>{xml_text(account.currency)}</Ccy>" if account.currency else ""
        out = [f"{self._head}{ident}</MsgId><CreDtTm>{at}</CreDtTm></GrpHdr><Ntfctn><Id>{ident}</Id>"
               f"<CreDtTm>{at}</CreDtTm><Acct><Id>{formats.identification(account)[0]}</Id>{inside}"
               f"{self._servicer}</Acct>"]
        for posting in postings:
            out.append(self._entry(posting, named, formats))
        out.append(self._tail)
        return "".join(out).encode()

    def _entry(self, posting: Posting, named: Mapping[str, RegisteredAccount],
               formats: UnitFormats) -> str:
        number = self.number
        credit = posting.amount > 0
        side = "CRDT" if credit else "DBIT"
        amount = (f'<Amt Ccy="{xml_text(posting.currency)}">'
                  f"{Amount.from_minor(abs(posting.amount), posting.currency).value}</Amt>")
        reference = ledger_reference(posting.operation_key)  # TB and hex digits: nothing to escape
        domain, family, sub = bank_transaction_code(posting, credit).split("/")  # codes: nothing to escape
        refs = posting.refs
        uetr = (refs.uetr or "").lower()
        me, other = posting.holder, (None if posting.counterparty == issuance_holder(posting.currency)
                                     else posting.counterparty)
        debtor, creditor = (other, me) if credit else (me, other)
        return "".join((
            f"<Ntry>{amount}<CdtDbtInd>{side}</CdtDbtInd>",
            "<RvslInd>true</RvslInd>" if is_reversal(posting.operation_key) else "",
            f"{self._status}<BookgDt><DtTm>{formats.time(posting.posted_at)}</DtTm></BookgDt>"
            f"<ValDt><Dt>{posting.posted_at.date().isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{reference}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd>"
            f"</Fmly></Domn></BkTxCd>{self._details[0]}<Refs>",
            f"<MsgId>{xml_text(refs.message_id[:_MAX35])}</MsgId>" if refs.message_id else "",
            f"<AcctSvcrRef>{reference}</AcctSvcrRef>",
            f"<InstrId>{xml_text(refs.instruction_id[:_MAX35])}</InstrId>" if refs.instruction_id else "",
            f"<EndToEndId>{xml_text(refs.end_to_end_id[:_MAX35])}</EndToEndId>" if refs.end_to_end_id else "",
            f"<UETR>{uetr}</UETR>" if number >= 8 and UETR_PATTERN.fullmatch(uetr) else "",  # from .08
            f"<TxId>{xml_text(refs.transaction_id[:_MAX35])}</TxId>" if refs.transaction_id else "",
            "</Refs>",
            (f"{amount}<CdtDbtInd>{side}</CdtDbtInd>" if number >= 3
             else f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>"),
            f"<RltdPties>{self._party('Dbtr', debtor, named, formats)}"
            f"{self._party('Cdtr', creditor, named, formats)}</RltdPties>",
            f"{self._details[1]}</Ntry>"))

    def _party(self, role: str, wallet: str | None, named: Mapping[str, RegisteredAccount],
               formats: UnitFormats) -> str:
        """A wallet as the debtor or creditor: its name, and its account when registered."""
        if wallet is None:  # the issuance account: the supply's side, no party
            return ""
        text = ""
        if wallet or self.number >= 7:
            name = f"<Nm>{xml_text(wallet[:_MAX140])}</Nm>" if wallet else ""
            text = f"<{role}><Pty>{name}</Pty></{role}>" if self.number >= 7 else f"<{role}>{name}</{role}>"
        account = named.get(wallet)
        if account:
            ident, identifies = formats.identification(account)
            if identifies:
                text += f"<{role}Acct><Id>{ident}</Id></{role}Acct>"
        return text
