"""camt.053 statements written for tests, as text (not with the bridge's own writer, so the
reconciliation tests do not lean on it): XSD-valid camt.053.001.08 or .02 documents with the
knobs reconciliation cares about: status, reversal, references, related accounts, balances."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from builders import Tx

NS = "urn:iso:std:iso:20022:tech:xsd:"
EUR_OMNIBUS = "DE56500199000990000018"


@dataclass
class Ntry:
    amount: str
    credit: bool = True
    status: str = "BOOK"
    reversal: bool = False
    uetr: str | None = None
    end_to_end_id: str | None = None
    message_id: str | None = None
    tx_id: str | None = None
    acct_ref: str | None = field(default_factory=lambda: "SVC" + uuid.uuid4().hex[:12].upper())
    creditor_iban: str | None = None
    debtor_iban: str | None = None
    currency: str = "EUR"
    booked_at: str = "2026-11-24T10:00:00Z"
    parts: tuple["Ntry", ...] = ()  # a batch entry: one TxDtls per part (its amount, refs, parties)

    @classmethod
    def of(cls, tx: Tx, message_id: str, **changes) -> "Ntry":
        """The omnibus statement's entry for a pacs.008 transaction of a non-tokenized debtor
        to a tokenized creditor (or the other way round, with credit=False)."""
        values = dict(amount=tx.amount, uetr=tx.uetr, end_to_end_id=tx.end_to_end_id,
                      message_id=message_id, tx_id=tx.tx_id, creditor_iban=tx.creditor_iban,
                      debtor_iban=tx.debtor_iban, currency=tx.currency)
        values.update(changes)
        return cls(**values)

    @property
    def signed(self) -> Decimal:
        return Decimal(self.amount) if self.credit else -Decimal(self.amount)


def _account(role: str, iban: str | None) -> str:
    return f"<{role}><Id><IBAN>{iban}</IBAN></Id></{role}>" if iban else ""


def _entry(n: Ntry, version: str) -> str:
    cd = "CRDT" if n.credit else "DBIT"
    sts = f"<Sts>{n.status}</Sts>" if version == "02" else f"<Sts><Cd>{n.status}</Cd></Sts>"
    details = f"<NtryDtls>{''.join(_details(p, version) for p in n.parts or (n,))}</NtryDtls>"
    return (f'<Ntry><Amt Ccy="{n.currency}">{n.amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
            f"{'<RvslInd>true</RvslInd>' if n.reversal else ''}{sts}"
            f"<BookgDt><DtTm>{n.booked_at}</DtTm></BookgDt><ValDt><Dt>{n.booked_at[:10]}</Dt></ValDt>"
            f"{f'<AcctSvcrRef>{n.acct_ref}</AcctSvcrRef>' if n.acct_ref else ''}"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{'RCDT' if n.credit else 'ICDT'}</Cd>"
            f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>{details}</Ntry>")


def _details(n: Ntry, version: str) -> str:
    """One TxDtls: the payment's references, amount and parties."""
    cd = "CRDT" if n.credit else "DBIT"
    refs = "".join(f"<{tag}>{value}</{tag}>" for tag, value in (
        ("MsgId", n.message_id), ("AcctSvcrRef", n.acct_ref), ("EndToEndId", n.end_to_end_id),
        ("UETR", n.uetr if version != "02" else None), ("TxId", n.tx_id)) if value)
    amount = (f'<AmtDtls><TxAmt><Amt Ccy="{n.currency}">{n.amount}</Amt></TxAmt></AmtDtls>' if version == "02"
              else f'<Amt Ccy="{n.currency}">{n.amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>')

    def party(role: str, iban: str | None) -> str:
        if not iban:
            return ""
        name = "<Nm>Someone</Nm>" if version == "02" else "<Pty><Nm>Someone</Nm></Pty>"
        return f"<{role}>{name}</{role}>{_account(role + 'Acct', iban)}"

    parties = party("Dbtr", n.debtor_iban) + party("Cdtr", n.creditor_iban)
    return (f"<TxDtls>{f'<Refs>{refs}</Refs>' if refs else ''}{amount}"
            f"{f'<RltdPties>{parties}</RltdPties>' if parties else ''}</TxDtls>")


def _balance(kind: str, amount: Decimal, currency: str, day: str) -> str:
    cd = "CRDT" if amount >= 0 else "DBIT"
    return (f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{abs(amount)}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
            f"<Dt><Dt>{day}</Dt></Dt></Bal>")


def camt053(entries: list[Ntry], *, account: str = EUR_OMNIBUS, currency: str = "EUR",
            opening: str = "0.00", closing: str | None = None, version: str = "08",
            msg_id: str | None = None, start: str = "2026-11-24T00:00:00Z",
            end: str = "2026-11-24T23:59:59Z", servicer_bic: str = "TOKNDEFFXXX") -> str:
    """A one-statement camt.053.001.<version> (08 or 02) of `account`; the closing balance
    adds up unless given."""
    bic = "BIC" if version == "02" else "BICFI"
    open_amount = Decimal(opening)
    booked = sum((n.signed for n in entries if n.status == "BOOK"), Decimal(0))
    close_amount = Decimal(closing) if closing is not None else open_amount + booked
    acct = (f"<IBAN>{account}</IBAN>" if account[:2].isalpha() and account[2:4].isdigit()
            else f"<Othr><Id>{account}</Id></Othr>")
    return (
        f'<Document xmlns="{NS}camt.053.001.{version}"><BkToCstmrStmt><GrpHdr>'
        f"<MsgId>{msg_id or 'STMT-' + uuid.uuid4().hex[:12]}</MsgId>"
        f"<CreDtTm>2026-11-24T23:59:59Z</CreDtTm></GrpHdr><Stmt>"
        f"<Id>S-{uuid.uuid4().hex[:10]}</Id><CreDtTm>2026-11-24T23:59:59Z</CreDtTm>"
        f"<FrToDt><FrDtTm>{start}</FrDtTm><ToDtTm>{end}</ToDtTm></FrToDt>"
        f"<Acct><Id>{acct}</Id><Ccy>{currency}</Ccy>"
        f"<Svcr><FinInstnId><{bic}>{servicer_bic}</{bic}></FinInstnId></Svcr></Acct>"
        f"{_balance('OPBD', open_amount, currency, start[:10])}"
        f"{_balance('CLBD', close_amount, currency, end[:10])}"
        f"{''.join(_entry(n, version) for n in entries)}</Stmt></BkToCstmrStmt></Document>")
