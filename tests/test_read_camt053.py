"""The camt.053 reader: inline statements per version (each XSD-checked first), and the public corpus."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest
from lxml import etree

from bridge.iso.camt053 import read_statement_message
from bridge.iso.errors import MessageReadError
from bridge.money import Amount
from bridge.parties import AccountId, Agent, Party
from bridge.statements import Balance, TransactionDetails

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
#: Public sample messages, read in place (never copied into the project).
from conftest import CORPUS_ROOT as CORPUS  # noqa: E402
from reader_support import corpus_paths, find_document, text  # noqa: E402
ISO_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
CET = timezone(timedelta(hours=1))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@lru_cache(maxsize=None)
def _schema(message_type: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{message_type}.xsd"), _parser()))


def _valid_document(xml: str, message_type: str) -> etree._Element:
    """Parse an inline message and insist it is XSD-valid, so the tests read real messages."""
    document = etree.fromstring(xml.strip().encode(), _parser())
    schema = _schema(message_type)
    assert schema.validate(document), schema.error_log.last_error
    return document


CAMT_053_02 = """
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-MSG-02</MsgId><CreDtTm>2024-03-02T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-02-A</Id>
      <ElctrncSeqNb>17</ElctrncSeqNb>
      <CreDtTm>2024-03-02T05:59:00+01:00</CreDtTm>
      <FrToDt><FrDtTm>2024-03-01T00:00:00+01:00</FrDtTm><ToDtTm>2024-03-01T23:59:59+01:00</ToDtTm></FrToDt>
      <Acct>
        <Id><IBAN>DE89370400440532013000</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Token Bank Omnibus</Nm></Ownr>
        <Svcr><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1200.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><DtTm>2024-03-01T23:59:59</DtTm></Dt>
      </Bal>
      <Ntry>
        <NtryRef>NREF-1</NtryRef>
        <Amt Ccy="EUR">250.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-01</Dt></BookgDt>
        <ValDt><DtTm>2024-03-01T10:00:00</DtTm></ValDt>
        <AcctSvcrRef>ASR-1</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>
              <MsgId>PACS-MSG-1</MsgId><AcctSvcrRef>TX-ASR-1</AcctSvcrRef><InstrId>INSTR-1</InstrId>
              <EndToEndId>E2E-1</EndToEndId><TxId>TX-1</TxId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">250.50</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Alice Debtor</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></DbtrAcct>
              <Cdtr><Nm>Bob Creditor</Nm></Cdtr>
              <CdtrAcct><Id><Othr><Id>WALLET-42</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id></CdtrAcct>
            </RltdPties>
            <RltdAgts>
              <DbtrAgt><FinInstnId><BIC>BNPAFRPPXXX</BIC></FinInstnId></DbtrAgt>
              <CdtrAgt><FinInstnId><ClrSysMmbId><MmbId>37040044</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt>
            </RltdAgts>
            <RmtInf>
              <Ustrd>Invoice 17</Ustrd>
              <Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">50.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>PDNG</Sts>
        <BkTxCd><Prtry><Cd>NTRF+117</Cd></Prtry></BkTxCd>
      </Ntry>
    </Stmt>
    <Stmt>
      <Id>STMT-02-B</Id>
      <CreDtTm>2024-03-02T06:00:00+01:00</CreDtTm>
      <Acct><Id><Othr><Id>0532013000</Id><SchmeNm><Prtry>LOCAL</Prtry></SchmeNm></Othr></Id></Acct>
      <Bal>
        <Tp><CdOrPrtry><Prtry>XPCD</Prtry></CdOrPrtry></Tp>
        <Amt Ccy="EUR">5</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt>
      </Bal>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_reads_camt_053_001_02_with_status_text_bic_and_tx_amount_details():
    message = read_statement_message(_valid_document(CAMT_053_02, "camt.053.001.02"))

    assert message.message_type == "camt.053.001.02"
    assert message.message_id == "STMT-MSG-02"
    assert message.created_at == datetime(2024, 3, 2, 6, 0, tzinfo=CET)
    first, second = message.statements

    assert first.statement_id == "STMT-02-A"
    assert first.sequence_number == 17
    assert first.created_at == datetime(2024, 3, 2, 5, 59, tzinfo=CET)
    assert first.from_time == datetime(2024, 3, 1, 0, 0, tzinfo=CET)
    assert first.to_time == datetime(2024, 3, 1, 23, 59, 59, tzinfo=CET)
    assert first.account == AccountId(iban="DE89370400440532013000")
    assert first.currency == "EUR"
    assert first.owner == "Token Bank Omnibus"
    assert first.servicer == Agent(bic="COBADEFFXXX")  # `BIC` in .02
    assert first.balances == (
        Balance("OPBD", Amount(Decimal("1000.00"), "EUR"), "CRDT", date(2024, 3, 1)),
        Balance("CLBD", Amount(Decimal("1200.50"), "EUR"), "CRDT", date(2024, 3, 1)),
    )

    booked, pending = first.entries
    assert booked.index == 0
    assert booked.amount == Amount(Decimal("250.50"), "EUR")
    assert booked.credit_debit == "CRDT"
    assert booked.status == "BOOK"  # plain text up to .06
    assert booked.booking_date == date(2024, 3, 1)
    assert booked.value_date == date(2024, 3, 1)
    assert booked.entry_ref == "NREF-1"
    assert booked.account_servicer_ref == "ASR-1"
    assert booked.reversal is False
    assert booked.bank_transaction_code == "PMNT/RCDT/ESCT"
    assert booked.details == (
        TransactionDetails(
            amount=Amount(Decimal("250.50"), "EUR"),  # only AmtDtls/TxAmt/Amt exists in .02
            message_id="PACS-MSG-1",
            account_servicer_ref="TX-ASR-1",
            instruction_id="INSTR-1",
            end_to_end_id="E2E-1",
            transaction_id="TX-1",
            uetr=None,
            debtor=Party("Alice Debtor", AccountId(iban="FR1420041010050500013M02606")),
            creditor=Party("Bob Creditor", AccountId(other="WALLET-42", scheme="BBAN")),
            debtor_agent=Agent(bic="BNPAFRPPXXX"),
            creditor_agent=Agent(member_id="37040044"),
            remittance=("Invoice 17", "RF18539007547034"),
        ),
    )

    assert pending.index == 1
    assert pending.amount == Amount(Decimal("50.00"), "EUR")
    assert pending.credit_debit == "DBIT"
    assert pending.signed == Decimal("-50.00")
    assert pending.status == "PDNG"
    assert pending.reversal is True
    assert pending.bank_transaction_code == "NTRF+117"
    assert pending.booking_date is None and pending.value_date is None
    assert pending.entry_ref is None and pending.account_servicer_ref is None
    assert pending.details == ()

    assert second.statement_id == "STMT-02-B"
    assert second.account == AccountId(other="0532013000", scheme="LOCAL", proprietary=True)
    assert second.sequence_number is None
    assert second.currency is None and second.owner is None and second.servicer is None
    assert second.from_time is None and second.to_time is None
    assert second.balances == (Balance("XPCD", Amount(Decimal("5"), "EUR"), "DBIT", date(2024, 3, 1)),)
    assert second.balance("XPCD").signed == Decimal("-5")
    assert second.entries == ()


CAMT_053_08 = """
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-MSG-08</MsgId><CreDtTm>2024-03-02T06:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-08</Id>
      <ElctrncSeqNb>3</ElctrncSeqNb>
      <Acct>
        <Id><IBAN>GB33BUKB20201555555555</IBAN></Id>
        <Ccy>GBP</Ccy>
        <Svcr><FinInstnId><BICFI>BUKBGB22</BICFI></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="GBP">0.01</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="GBP">99.99</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2024-03-01T15:30:00Z</DtTm></BookgDt>
        <ValDt><Dt>2024-03-01</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>XBCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>
              <EndToEndId>E2E-8</EndToEndId>
              <UETR>eb6305c9-1f7f-49de-aed0-16487c27b42d</UETR>
            </Refs>
            <Amt Ccy="GBP">99.99</Amt>
            <RltdPties>
              <Dbtr><Pty><Nm>Debtor Ltd</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></DbtrAcct>
              <Cdtr><Agt><FinInstnId><BICFI>TOKNGB2L</BICFI><Nm>Token Bank plc</Nm></FinInstnId></Agt></Cdtr>
            </RltdPties>
            <RltdAgts><DbtrAgt><FinInstnId><BICFI>NWBKGB2L</BICFI></FinInstnId></DbtrAgt></RltdAgts>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="GBP">1.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Prtry>HELD</Prtry></Sts>
        <BkTxCd/>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_reads_camt_053_001_08_with_status_code_pty_wrapper_and_uetr():
    message = read_statement_message(_valid_document(CAMT_053_08, "camt.053.001.08"))

    assert message.message_type == "camt.053.001.08"
    assert message.message_id == "STMT-MSG-08"
    assert message.created_at == datetime(2024, 3, 2, 6, 0, tzinfo=timezone.utc)
    (statement,) = message.statements
    assert statement.statement_id == "STMT-08"
    assert statement.sequence_number == 3
    assert statement.created_at is None  # optional from .07 on
    assert statement.account == AccountId(iban="GB33BUKB20201555555555")
    assert statement.currency == "GBP"
    assert statement.owner is None
    assert statement.servicer == Agent(bic="BUKBGB22")  # `BICFI` from .03 on
    assert statement.balances == (Balance("CLBD", Amount(Decimal("0.01"), "GBP"), "DBIT", date(2024, 3, 1)),)

    credit, held = statement.entries
    assert credit.amount == Amount(Decimal("99.99"), "GBP")
    assert credit.credit_debit == "CRDT"
    assert credit.status == "BOOK"  # Sts/Cd from .07 on
    assert credit.booking_date == date(2024, 3, 1)
    assert credit.value_date == date(2024, 3, 1)
    assert credit.reversal is False
    assert credit.bank_transaction_code == "PMNT/RCDT/XBCT"
    (details,) = credit.details
    assert details.amount == Amount(Decimal("99.99"), "GBP")
    assert details.end_to_end_id == "E2E-8"
    assert details.uetr == "eb6305c9-1f7f-49de-aed0-16487c27b42d"
    assert details.message_id is None and details.transaction_id is None and details.instruction_id is None
    assert details.debtor == Party("Debtor Ltd", AccountId(iban="GB29NWBK60161331926819"))
    assert details.creditor == Party("Token Bank plc", None)  # a bank as creditor: `Agt`, not `Pty`
    assert details.debtor_agent == Agent(bic="NWBKGB2L")
    assert details.creditor_agent is None
    assert details.remittance == ()

    assert held.status == "HELD"  # Sts/Prtry
    assert held.credit_debit == "DBIT"
    assert held.bank_transaction_code is None


CAMT_053_14 = """
<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.14">
  <c:BkToCstmrStmt>
    <c:GrpHdr><c:MsgId>STMT-MSG-14</c:MsgId><c:CreDtTm>2025-06-30T23:00:00+01:00</c:CreDtTm></c:GrpHdr>
    <c:Stmt>
      <c:Id>STMT-14</c:Id>
      <c:CreDtTm>2025-06-30T23:00:00+01:00</c:CreDtTm>
      <c:Acct>
        <c:Ccy>CHF</c:Ccy>
        <c:Prxy><c:Id>omnibus@tokenbank.example</c:Id></c:Prxy>
        <c:Ownr><c:Nm>Token Bank AG</c:Nm></c:Ownr>
        <c:Svcr>
          <c:FinInstnId>
            <c:BICFI>TOKNCHZZ</c:BICFI>
            <c:ClrSysMmbId><c:MmbId>09000</c:MmbId></c:ClrSysMmbId>
            <c:Nm>Token Bank</c:Nm>
          </c:FinInstnId>
        </c:Svcr>
      </c:Acct>
      <c:Bal>
        <c:Tp><c:CdOrPrtry><c:Cd>OPBD</c:Cd></c:CdOrPrtry></c:Tp>
        <c:Amt Ccy="CHF">0</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Dt><c:Dt>2025-06-30</c:Dt></c:Dt>
      </c:Bal>
      <c:Ntry>
        <c:NtryRef>N-14</c:NtryRef>
        <c:Amt Ccy="CHF">300.00</c:Amt>
        <c:CdtDbtInd>CRDT</c:CdtDbtInd>
        <c:RvslInd>false</c:RvslInd>
        <c:Sts><c:Cd>FUTR</c:Cd></c:Sts>
        <c:ValDt><c:DtTm>2025-07-01T08:00:00+01:00</c:DtTm></c:ValDt>
        <c:AcctSvcrRef>ASR-14</c:AcctSvcrRef>
        <c:BkTxCd><c:Prtry><c:Cd>BATCH</c:Cd><c:Issr>BANK</c:Issr></c:Prtry></c:BkTxCd>
        <c:NtryDtls>
          <c:TxDtls>
            <c:Refs><c:InstrId>I-1</c:InstrId><c:EndToEndId>E2E-14-1</c:EndToEndId></c:Refs>
            <c:Amt Ccy="CHF">100.00</c:Amt>
            <c:AmtDtls><c:TxAmt><c:Amt Ccy="EUR">105.00</c:Amt></c:TxAmt></c:AmtDtls>
            <c:RltdPties>
              <c:Dbtr><c:Pty><c:Nm>Heidi</c:Nm></c:Pty></c:Dbtr>
              <c:CdtrAcct><c:Id><c:Othr><c:Id>TKN-CH-1</c:Id></c:Othr></c:Id></c:CdtrAcct>
            </c:RltdPties>
            <c:RmtInf><c:Ustrd>first of two</c:Ustrd></c:RmtInf>
          </c:TxDtls>
        </c:NtryDtls>
        <c:NtryDtls>
          <c:TxDtls>
            <c:Refs>
              <c:AcctSvcrRef>TX-ASR-2</c:AcctSvcrRef>
              <c:UETR>0f4b1d9e-2c3a-4b5d-8e6f-7a8b9c0d1e2f</c:UETR>
              <c:TxId>TX-14-2</c:TxId>
            </c:Refs>
            <c:AmtDtls><c:TxAmt><c:Amt Ccy="CHF">200.00</c:Amt></c:TxAmt></c:AmtDtls>
            <c:RltdAgts><c:CdtrAgt><c:FinInstnId><c:BICFI>TOKNCHZZ</c:BICFI></c:FinInstnId></c:CdtrAgt></c:RltdAgts>
          </c:TxDtls>
        </c:NtryDtls>
      </c:Ntry>
    </c:Stmt>
  </c:BkToCstmrStmt>
</c:Document>
"""


def test_reads_camt_053_001_14_with_proxy_account_and_details_across_ntrydtls():
    message = read_statement_message(_valid_document(CAMT_053_14, "camt.053.001.14"))

    assert message.message_type == "camt.053.001.14"
    assert message.message_id == "STMT-MSG-14"
    (statement,) = message.statements
    assert statement.statement_id == "STMT-14"
    assert statement.created_at == datetime(2025, 6, 30, 23, 0, tzinfo=CET)
    assert statement.account == AccountId()  # Acct/Id is optional from .09 on: proxy only here
    assert statement.currency == "CHF"
    assert statement.owner == "Token Bank AG"
    assert statement.servicer == Agent(bic="TOKNCHZZ", member_id="09000", name="Token Bank")
    assert statement.balance("OPBD") == Balance("OPBD", Amount(Decimal("0"), "CHF"), "CRDT", date(2025, 6, 30))
    assert statement.balance("CLBD") is None

    (entry,) = statement.entries
    assert entry.entry_ref == "N-14"
    assert entry.amount == Amount(Decimal("300.00"), "CHF")
    assert entry.status == "FUTR"
    assert entry.reversal is False
    assert entry.booking_date is None
    assert entry.value_date == date(2025, 7, 1)
    assert entry.account_servicer_ref == "ASR-14"
    assert entry.bank_transaction_code == "BATCH"
    assert entry.details == (
        TransactionDetails(
            amount=Amount(Decimal("100.00"), "CHF"),  # TxDtls/Amt wins over AmtDtls/TxAmt/Amt
            instruction_id="I-1",
            end_to_end_id="E2E-14-1",
            debtor=Party("Heidi", None),
            creditor=Party(None, AccountId(other="TKN-CH-1")),
            remittance=("first of two",),
        ),
        TransactionDetails(
            amount=Amount(Decimal("200.00"), "CHF"),
            account_servicer_ref="TX-ASR-2",
            transaction_id="TX-14-2",
            uetr="0f4b1d9e-2c3a-4b5d-8e6f-7a8b9c0d1e2f",
            creditor_agent=Agent(bic="TOKNCHZZ"),
        ),
    )


@pytest.mark.parametrize(
    "xml, expected",
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf/></Document>',
         "pacs.008.001.08"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"><BkToCstmrStmtV01/></Document>',
         "camt.053.001.01"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn/></Document>',
         "camt.054.001.08"),
        ('<Document><BkToCstmrStmt/></Document>', "Document"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><Other/></Document>',
         "no BkToCstmrStmt"),
    ],
)
def test_refuses_what_is_not_a_supported_camt_053_document(xml, expected):
    with pytest.raises(MessageReadError, match=expected):
        read_statement_message(etree.fromstring(xml))


# --- the public corpus -------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.slow  # corpus-wide
@pytest.mark.parametrize("local_path", corpus_paths("camt.053") or [None])
def test_reads_every_valid_camt_053_in_the_corpus_as_xpath_sees_it(local_path):
    if local_path is None:
        pytest.skip(f"no camt.053 corpus: {CORPUS / 'corpus'} or its VALIDATION.tsv is absent")
    document = find_document(CORPUS / local_path)
    ns = {"d": etree.QName(document).namespace}

    message = read_statement_message(document)

    assert message.message_type == ns["d"].rsplit(":", 1)[-1]
    assert message.message_id == text(document, "d:BkToCstmrStmt/d:GrpHdr/d:MsgId", ns)
    raw_statements = document.xpath("d:BkToCstmrStmt/d:Stmt", namespaces=ns)
    assert len(message.statements) == len(raw_statements) > 0
    for statement, raw in zip(message.statements, raw_statements):
        assert statement.statement_id == text(raw, "d:Id", ns)

        raw_balances = raw.xpath("d:Bal", namespaces=ns)
        assert len(statement.balances) == len(raw_balances) > 0
        for balance, bal in zip(statement.balances, raw_balances):
            assert balance.type == (text(bal, "d:Tp/d:CdOrPrtry/d:Cd", ns)
                                    or text(bal, "d:Tp/d:CdOrPrtry/d:Prtry", ns))
            assert balance.amount.value == Decimal(text(bal, "d:Amt", ns))
            assert balance.amount.currency == text(bal, "d:Amt/@Ccy", ns)
            assert balance.credit_debit == text(bal, "d:CdtDbtInd", ns)

        raw_entries = raw.xpath("d:Ntry", namespaces=ns)
        assert len(statement.entries) == len(raw_entries)
        for entry, ntry in zip(statement.entries, raw_entries):
            assert entry.amount.value == Decimal(text(ntry, "d:Amt", ns))
            assert entry.amount.currency == text(ntry, "d:Amt/@Ccy", ns)
            assert entry.credit_debit == text(ntry, "d:CdtDbtInd", ns)
            assert len(entry.details) == len(ntry.xpath("d:NtryDtls/d:TxDtls", namespaces=ns))
