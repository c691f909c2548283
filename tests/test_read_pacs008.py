"""The pacs.008 reader: inline messages per version (each XSD-checked first), and the public corpus."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest
from lxml import etree

from bridge.iso.errors import MessageReadError
from bridge.iso.pacs008 import read_credit_transfer_message
from bridge.money import Amount
from bridge.parties import AccountId, Agent, Party

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
#: Public sample messages, read in place (never copied into the project).
from conftest import CORPUS_ROOT as CORPUS  # noqa: E402
from reader_support import corpus_paths, find_document, text  # noqa: E402
ISO_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


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


PACS_008_02 = """
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02">
  <FIToFICstmrCdtTrf>
    <GrpHdr>
      <MsgId>MSG-02-0001</MsgId>
      <CreDtTm>2024-03-01T09:30:00</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>1300.75</CtrlSum>
      <TtlIntrBkSttlmAmt Ccy="EUR">1300.75</TtlIntrBkSttlmAmt>
      <IntrBkSttlmDt>2024-03-04</IntrBkSttlmDt>
      <SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf>
      <InstgAgt><FinInstnId><BIC>INSTDEFFXXX</BIC></FinInstnId></InstgAgt>
      <InstdAgt><FinInstnId><BIC>TOKNDEFFXXX</BIC></FinInstnId></InstdAgt>
    </GrpHdr>
    <CdtTrfTxInf>
      <PmtId>
        <InstrId>INSTR-1</InstrId>
        <EndToEndId>E2E-1</EndToEndId>
        <TxId>TX-1</TxId>
      </PmtId>
      <IntrBkSttlmAmt Ccy="EUR">1000.50</IntrBkSttlmAmt>
      <IntrBkSttlmDt>2024-03-05</IntrBkSttlmDt>
      <ChrgBr>SLEV</ChrgBr>
      <InstgAgt>
        <FinInstnId><ClrSysMmbId><MmbId>10020030</MmbId></ClrSysMmbId><Nm>Instructing Bank</Nm></FinInstnId>
      </InstgAgt>
      <InstdAgt><FinInstnId><BIC>OTHRDEFFXXX</BIC></FinInstnId></InstdAgt>
      <Dbtr><Nm>Alice Debtor</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt>
      <CdtrAgt><FinInstnId><BIC>TOKNDEFF</BIC></FinInstnId></CdtrAgt>
      <Cdtr><Nm>Bob Creditor</Nm></Cdtr>
      <CdtrAcct><Id><Othr><Id>WALLET-42</Id><SchmeNm><Prtry>TOKEN</Prtry></SchmeNm></Othr></Id></CdtrAcct>
      <RmtInf>
        <Ustrd>Invoice 2024-17</Ustrd>
        <Ustrd>second line</Ustrd>
        <Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>
      </RmtInf>
    </CdtTrfTxInf>
    <CdtTrfTxInf>
      <PmtId><EndToEndId>E2E-2</EndToEndId><TxId>TX-2</TxId></PmtId>
      <IntrBkSttlmAmt Ccy="EUR">300.25</IntrBkSttlmAmt>
      <ChrgBr>SHAR</ChrgBr>
      <Dbtr/>
      <DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt>
      <CdtrAgt><FinInstnId><BIC>TOKNDEFF</BIC></FinInstnId></CdtrAgt>
      <Cdtr><Nm>Carol</Nm></Cdtr>
    </CdtTrfTxInf>
  </FIToFICstmrCdtTrf>
</Document>
"""


def test_reads_pacs_008_001_02_with_bic_and_group_header_fallbacks():
    message = read_credit_transfer_message(_valid_document(PACS_008_02, "pacs.008.001.02"))

    assert message.message_type == "pacs.008.001.02"
    header = message.group_header
    assert header.message_id == "MSG-02-0001"
    assert header.created_at == datetime(2024, 3, 1, 9, 30)
    assert header.number_of_transactions == 2
    assert header.control_sum == Decimal("1300.75")
    assert header.total_settlement_amount == Amount(Decimal("1300.75"), "EUR")
    assert header.settlement_date == date(2024, 3, 4)
    assert header.settlement_method == "CLRG"
    # .02 names the BIC `BIC`; later versions `BICFI`.
    assert header.instructing_agent == Agent(bic="INSTDEFFXXX")
    assert header.instructed_agent == Agent(bic="TOKNDEFFXXX")

    first, second = message.transactions
    assert first.index == 0
    assert first.instruction_id == "INSTR-1"
    assert first.end_to_end_id == "E2E-1"
    assert first.transaction_id == "TX-1"
    assert first.uetr is None  # no UETR before .08
    assert first.amount == Amount(Decimal("1000.50"), "EUR")
    assert str(first.amount.value) == "1000.50"  # the text as written, never a float
    assert first.settlement_date == date(2024, 3, 5)  # the transaction's own date wins
    assert first.charge_bearer == "SLEV"
    assert first.instructing_agent == Agent(member_id="10020030", name="Instructing Bank")
    assert first.instructed_agent == Agent(bic="OTHRDEFFXXX")
    assert first.debtor == Party("Alice Debtor", AccountId(iban="DE89370400440532013000"))
    assert first.creditor == Party("Bob Creditor", AccountId(other="WALLET-42", scheme="TOKEN", proprietary=True))
    assert first.debtor_agent == Agent(bic="COBADEFFXXX")
    assert first.creditor_agent == Agent(bic="TOKNDEFF")
    assert first.remittance == ("Invoice 2024-17", "second line", "RF18539007547034")

    assert second.index == 1
    assert second.instruction_id is None
    assert second.end_to_end_id == "E2E-2"
    assert second.amount == Amount(Decimal("300.25"), "EUR")
    assert second.settlement_date == date(2024, 3, 4)  # from GrpHdr
    assert second.instructing_agent == header.instructing_agent  # from GrpHdr
    assert second.instructed_agent == header.instructed_agent
    assert second.debtor == Party(None, None)
    assert second.creditor == Party("Carol", None)
    assert second.remittance == ()


PACS_008_08 = """
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">
  <FIToFICstmrCdtTrf>
    <GrpHdr>
      <MsgId>MSG-08-0001</MsgId>
      <CreDtTm>2024-03-01T09:30:00.123+01:00</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>
    </GrpHdr>
    <CdtTrfTxInf>
      <PmtId>
        <EndToEndId>E2E-8</EndToEndId>
        <TxId>TX-8</TxId>
        <UETR>eb6305c9-1f7f-49de-aed0-16487c27b42d</UETR>
      </PmtId>
      <IntrBkSttlmAmt Ccy="JPY">125000</IntrBkSttlmAmt>
      <IntrBkSttlmDt>2024-03-01</IntrBkSttlmDt>
      <ChrgBr>DEBT</ChrgBr>
      <InstgAgt><FinInstnId><BICFI>INSTJPJTXXX</BICFI></FinInstnId></InstgAgt>
      <InstdAgt><FinInstnId><BICFI>TOKNJPJT</BICFI></FinInstnId></InstdAgt>
      <Dbtr><Nm>Debtor KK</Nm></Dbtr>
      <DbtrAcct><Id><Othr><Id>1234567</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id></DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <ClrSysMmbId><ClrSysId><Cd>JPZGN</Cd></ClrSysId><MmbId>0001</MmbId></ClrSysMmbId>
        </FinInstnId>
      </DbtrAgt>
      <CdtrAgt><FinInstnId><BICFI>TOKNJPJT</BICFI><Nm>Token Bank</Nm></FinInstnId></CdtrAgt>
      <Cdtr><Nm>Creditor KK</Nm></Cdtr>
      <CdtrAcct><Id><Othr><Id>TKN-0009</Id></Othr></Id></CdtrAcct>
      <RmtInf><Ustrd>Order 77</Ustrd></RmtInf>
    </CdtTrfTxInf>
  </FIToFICstmrCdtTrf>
</Document>
"""


def test_reads_pacs_008_001_08_with_bicfi_uetr_and_scheme_code():
    message = read_credit_transfer_message(_valid_document(PACS_008_08, "pacs.008.001.08"))

    assert message.message_type == "pacs.008.001.08"
    header = message.group_header
    assert header.message_id == "MSG-08-0001"
    assert header.created_at == datetime(2024, 3, 1, 9, 30, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    assert header.number_of_transactions == 1
    assert header.control_sum is None
    assert header.total_settlement_amount is None
    assert header.settlement_date is None
    assert header.settlement_method == "INDA"
    assert header.instructing_agent is None and header.instructed_agent is None

    (tx,) = message.transactions
    assert tx.end_to_end_id == "E2E-8"
    assert tx.transaction_id == "TX-8"
    assert tx.instruction_id is None
    assert tx.uetr == "eb6305c9-1f7f-49de-aed0-16487c27b42d"
    assert tx.amount == Amount(Decimal("125000"), "JPY")
    assert tx.settlement_date == date(2024, 3, 1)
    assert tx.charge_bearer == "DEBT"
    assert tx.instructing_agent == Agent(bic="INSTJPJTXXX")
    assert tx.instructed_agent == Agent(bic="TOKNJPJT")
    assert tx.debtor == Party("Debtor KK", AccountId(other="1234567", scheme="BBAN"))
    assert tx.creditor == Party("Creditor KK", AccountId(other="TKN-0009"))
    assert tx.debtor_agent == Agent(member_id="0001")
    assert tx.creditor_agent == Agent(bic="TOKNJPJT", name="Token Bank")
    assert tx.remittance == ("Order 77",)


PACS_008_13 = """
<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.13">
  <p:FIToFICstmrCdtTrf>
    <p:GrpHdr>
      <p:MsgId>MSG-13-0001</p:MsgId>
      <p:CreDtTm>2025-01-15T12:00:00Z</p:CreDtTm>
      <p:NbOfTxs>1</p:NbOfTxs>
      <p:TtlIntrBkSttlmAmt Ccy="KWD">10.125</p:TtlIntrBkSttlmAmt>
      <p:IntrBkSttlmDt>2025-01-15</p:IntrBkSttlmDt>
      <p:SttlmInf><p:SttlmMtd>CLRG</p:SttlmMtd></p:SttlmInf>
      <p:InstgAgt><p:FinInstnId><p:BICFI>INSTKWKW</p:BICFI></p:FinInstnId></p:InstgAgt>
      <p:InstdAgt><p:FinInstnId><p:BICFI>TOKNKWKW</p:BICFI></p:FinInstnId></p:InstdAgt>
    </p:GrpHdr>
    <p:CdtTrfTxInf>
      <p:PmtId>
        <p:InstrId>I-13</p:InstrId>
        <p:EndToEndId>E2E-13</p:EndToEndId>
        <p:UETR>0f4b1d9e-2c3a-4b5d-8e6f-7a8b9c0d1e2f</p:UETR>
      </p:PmtId>
      <p:IntrBkSttlmAmt Ccy="KWD">10.125</p:IntrBkSttlmAmt>
      <p:ChrgBr>SHAR</p:ChrgBr>
      <p:Dbtr><p:Nm>Debtor WLL</p:Nm></p:Dbtr>
      <p:DbtrAcct><p:Id><p:IBAN>KW81CBKU0000000000001234560101</p:IBAN></p:Id></p:DbtrAcct>
      <p:DbtrAgt><p:FinInstnId><p:BICFI>NBOKKWKW</p:BICFI></p:FinInstnId></p:DbtrAgt>
      <p:CdtrAgt><p:FinInstnId><p:BICFI>TOKNKWKW</p:BICFI></p:FinInstnId></p:CdtrAgt>
      <p:Cdtr><p:Nm>Creditor WLL</p:Nm></p:Cdtr>
      <p:CdtrAcct><p:Prxy><p:Id>+96550000000</p:Id></p:Prxy></p:CdtrAcct>
      <p:RmtInf>
        <p:Strd><p:CdtrRefInf><p:Ref>REF-A</p:Ref></p:CdtrRefInf></p:Strd>
        <p:Strd><p:CdtrRefInf><p:Ref>REF-B</p:Ref></p:CdtrRefInf></p:Strd>
      </p:RmtInf>
    </p:CdtTrfTxInf>
  </p:FIToFICstmrCdtTrf>
</p:Document>
"""


def test_reads_pacs_008_001_13_with_prefixes_proxy_account_and_header_fallbacks():
    message = read_credit_transfer_message(_valid_document(PACS_008_13, "pacs.008.001.13"))

    assert message.message_type == "pacs.008.001.13"
    header = message.group_header
    assert header.message_id == "MSG-13-0001"
    assert header.created_at == datetime(2025, 1, 15, 12, 0, tzinfo=timezone.utc)
    assert header.total_settlement_amount == Amount(Decimal("10.125"), "KWD")
    assert header.settlement_date == date(2025, 1, 15)
    assert header.settlement_method == "CLRG"

    (tx,) = message.transactions
    assert tx.instruction_id == "I-13"
    assert tx.end_to_end_id == "E2E-13"
    assert tx.transaction_id is None  # optional from .08 on
    assert tx.uetr == "0f4b1d9e-2c3a-4b5d-8e6f-7a8b9c0d1e2f"
    assert tx.amount == Amount(Decimal("10.125"), "KWD")
    assert tx.amount.to_minor() == 10125
    assert tx.settlement_date == date(2025, 1, 15)
    assert tx.instructing_agent == Agent(bic="INSTKWKW")
    assert tx.instructed_agent == Agent(bic="TOKNKWKW")
    # .13 still puts the name right under Dbtr/Cdtr (PartyIdentification272: no Pty wrapper).
    assert tx.debtor == Party("Debtor WLL", AccountId(iban="KW81CBKU0000000000001234560101"))
    # An account named only by proxy has no IBAN/Othr identification to look up.
    assert tx.creditor == Party("Creditor WLL", None)
    assert tx.debtor_agent == Agent(bic="NBOKKWKW")
    assert tx.creditor_agent == Agent(bic="TOKNKWKW")
    assert tx.remittance == ("REF-A", "REF-B")


PACS_008_14 = """
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.14">
  <FIToFICstmrCdtTrf>
    <GrpHdr>
      <MsgId>MSG-14-0001</MsgId>
      <CreDtTm>2026-03-16T08:15:00.250+01:00</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>2500.00</CtrlSum>
      <IntrBkSttlmDt>2026-03-16</IntrBkSttlmDt>
      <SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>
      <InstgAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></InstgAgt>
    </GrpHdr>
    <CdtTrfTxInf>
      <PmtId>
        <EndToEndId>E2E-14</EndToEndId>
        <TxId>TX-14</TxId>
        <UETR>5b2e1c3d-8a4f-4e6b-9c7d-1f2a3b4c5d6e</UETR>
      </PmtId>
      <IntrBkSttlmAmt Ccy="EUR">2500.00</IntrBkSttlmAmt>
      <ChrgBr>SLEV</ChrgBr>
      <Dbtr><Nm>Fatima Ouali</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>FR7630004008280001058392658</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></DbtrAgt>
      <CdtrAgt><FinInstnId><BICFI>TOKNDEFFXXX</BICFI></FinInstnId></CdtrAgt>
      <Cdtr><Nm>Alice Weber</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>DE82500199000417283905</IBAN></Id></CdtrAcct>
      <RgltryRptg>
        <DbtCdtRptgInd>CRED</DbtCdtRptgInd>
        <Dtls><Tp><Cd>TRD</Cd></Tp><Ctry>DE</Ctry><RptgCd>150</RptgCd></Dtls>
      </RgltryRptg>
      <RmtInf>
        <Ustrd>Invoice 2026-77</Ustrd>
        <Strd>
          <CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf>
          <SctiesData><UnqTxIdr>529900T8BM49AURSDO5501ABC</UnqTxIdr><Amt Ccy="EUR">2500.00</Amt></SctiesData>
        </Strd>
      </RmtInf>
    </CdtTrfTxInf>
  </FIToFICstmrCdtTrf>
</Document>
"""


def test_reads_pacs_008_001_14_with_the_2026_only_elements():
    """.14 (2026) changed only what the reader does not read (regulatory reporting, securities
    data in structured remittance): read exactly like .13. The message uses those elements in
    their .14 shape, which .13 refuses, so the test holds a real .14."""
    document = _valid_document(PACS_008_14, "pacs.008.001.14")
    as_13 = etree.fromstring(etree.tostring(document).replace(b"pacs.008.001.14", b"pacs.008.001.13"))
    assert not _schema("pacs.008.001.13").validate(as_13)  # RptgCd, Tp/Cd and SctiesData are new
    message = read_credit_transfer_message(document)

    assert message.message_type == "pacs.008.001.14"
    header = message.group_header
    assert header.message_id == "MSG-14-0001"
    assert header.created_at == datetime(2026, 3, 16, 8, 15, 0, 250000, tzinfo=timezone(timedelta(hours=1)))
    assert header.created_at_text == "2026-03-16T08:15:00.250+01:00"
    assert header.control_sum == Decimal("2500.00")
    assert header.settlement_method == "INDA"
    assert header.instructing_agent == Agent(bic="BNPAFRPPXXX")

    (tx,) = message.transactions
    assert (tx.end_to_end_id, tx.transaction_id, tx.instruction_id) == ("E2E-14", "TX-14", None)
    assert tx.uetr == "5b2e1c3d-8a4f-4e6b-9c7d-1f2a3b4c5d6e"
    assert tx.amount == Amount(Decimal("2500.00"), "EUR")
    assert tx.settlement_date == date(2026, 3, 16)
    assert tx.charge_bearer == "SLEV"
    assert tx.debtor == Party("Fatima Ouali", AccountId(iban="FR7630004008280001058392658"))
    assert tx.creditor == Party("Alice Weber", AccountId(iban="DE82500199000417283905"))
    assert (tx.debtor_agent, tx.creditor_agent) == (Agent(bic="BNPAFRPPXXX"), Agent(bic="TOKNDEFFXXX"))
    assert tx.instructing_agent == Agent(bic="BNPAFRPPXXX")
    assert tx.remittance == ("Invoice 2026-77", "RF18539007547034")


def test_a_pacs_008_001_13_in_the_2026_namespace_reads_the_same():
    """Every element of the .13 example exists unchanged in .14: the same Document under the .14
    namespace is valid and gives the same domain objects, the message type aside."""
    thirteen = read_credit_transfer_message(_valid_document(PACS_008_13, "pacs.008.001.13"))
    fourteen = read_credit_transfer_message(
        _valid_document(PACS_008_13.replace("pacs.008.001.13", "pacs.008.001.14"), "pacs.008.001.14"))
    assert fourteen.message_type == "pacs.008.001.14"
    assert (fourteen.group_header, fourteen.transactions) == (thirteen.group_header, thirteen.transactions)


@pytest.mark.parametrize(
    "xml, expected",
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>',
         "camt.053.001.08"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.01"><FIToFICstmrCdtTrf/></Document>',
         "pacs.008.001.01"),
        ('<Document xmlns="urn:example"><FIToFICstmrCdtTrf/></Document>', "Document"),
        ('<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>', "pacs.008.001.08"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><Other/></Document>',
         "no FIToFICstmrCdtTrf"),
    ],
)
def test_refuses_what_is_not_a_supported_pacs_008_document(xml, expected):
    with pytest.raises(MessageReadError, match=expected):
        read_credit_transfer_message(etree.fromstring(xml))


# --- the public corpus -------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.slow  # corpus-wide
@pytest.mark.parametrize("local_path", corpus_paths("pacs.008") or [None])
def test_reads_every_valid_pacs_008_in_the_corpus_as_xpath_sees_it(local_path):
    if local_path is None:
        pytest.skip(f"no pacs.008 corpus: {CORPUS / 'corpus'} or its VALIDATION.tsv is absent")
    document = find_document(CORPUS / local_path)
    ns = {"d": etree.QName(document).namespace}

    message = read_credit_transfer_message(document)

    assert message.message_type == ns["d"].rsplit(":", 1)[-1]
    assert message.group_header.message_id == text(document, "d:FIToFICstmrCdtTrf/d:GrpHdr/d:MsgId", ns)
    raw = document.xpath("d:FIToFICstmrCdtTrf/d:CdtTrfTxInf", namespaces=ns)
    assert len(message.transactions) == len(raw) > 0
    for tx, element in zip(message.transactions, raw):
        assert tx.amount.value == Decimal(text(element, "d:IntrBkSttlmAmt", ns))
        assert tx.amount.currency == text(element, "d:IntrBkSttlmAmt/@Ccy", ns)
        assert tx.end_to_end_id == text(element, "d:PmtId/d:EndToEndId", ns)
        assert tx.transaction_id == text(element, "d:PmtId/d:TxId", ns)
        assert tx.instruction_id == text(element, "d:PmtId/d:InstrId", ns)
        assert tx.uetr == text(element, "d:PmtId/d:UETR", ns)
