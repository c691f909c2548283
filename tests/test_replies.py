"""Replies that match the request (issue 13, class 11): the reply's AppHdr names each party the
way the original did (a Fedwire ABA number as well as a BIC), a pacs.008.001.01 is answered,
and the original's date-times are echoed as written. Every reply built here is checked against
the official XSDs of its AppHdr and its Document."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from bridge.iso.apphdr import HEADER_VERSIONS, echoed_datetime, writable_party, write_reply_header
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX, SchemaCatalogue
from bridge.iso.header import read_business_header
from bridge.iso.pacs002 import parse_reply_versions, reply_version, write_reply, write_status_report
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.status import HeaderParty, ReplyHeader, StatusReport, TransactionStatus
from builders import Tx, pacs008, swift_envelope

CATALOGUE = SchemaCatalogue()
FEDWIRE_SENDER = "<ClrSysMmbId><ClrSysId><Cd>USABA</Cd></ClrSysId><MmbId>021000021</MmbId></ClrSysMmbId>"
FEDWIRE_RECEIVER = "<ClrSysMmbId><ClrSysId><Cd>USABA</Cd></ClrSysId><MmbId>011000028</MmbId></ClrSysMmbId>"
NOW = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone.utc)


def header(version: str, sender: str, receiver: str, *, created: str = "2026-11-24T10:00:00Z",
           biz_msg_id: str = "BIZ-FED-1") -> str:
    """An AppHdr whose Fr and To hold `sender`/`receiver` as their `FinInstnId` content."""
    return (f'<AppHdr xmlns="{ISO_NAMESPACE_PREFIX}head.001.001.{version}">'
            f"<Fr><FIId><FinInstnId>{sender}</FinInstnId></FIId></Fr>"
            f"<To><FIId><FinInstnId>{receiver}</FinInstnId></FIId></To>"
            f"<BizMsgIdr>{biz_msg_id}</BizMsgIdr><MsgDefIdr>pacs.008.001.08</MsgDefIdr>"
            f"<CreDt>{created}</CreDt></AppHdr>")


def pacs008_v01(msg_id: str = "MSG-2006-1", created: str = "2026-11-24T10:00:00") -> str:
    """A pacs.008.001.01 (2006): its message root is named `pacs.008.001.01`."""
    return (f'<Document xmlns="{ISO_NAMESPACE_PREFIX}pacs.008.001.01"><pacs.008.001.01><GrpHdr>'
            f"<MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>1</NbOfTxs>"
            "<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>"
            "<InstgAgt><FinInstnId><BIC>BNPAFRPPXXX</BIC></FinInstnId></InstgAgt></GrpHdr>"
            "<CdtTrfTxInf><PmtId><EndToEndId>E2E-2006</EndToEndId><TxId>TX-2006</TxId></PmtId>"
            '<IntrBkSttlmAmt Ccy="EUR">100.00</IntrBkSttlmAmt><ChrgBr>SLEV</ChrgBr>'
            "<Dbtr><Nm>Debtor</Nm></Dbtr>"
            "<DbtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></DbtrAcct>"
            "<DbtrAgt><FinInstnId><BIC>BNPAFRPPXXX</BIC></FinInstnId></DbtrAgt>"
            "<CdtrAgt><FinInstnId><BIC>TOKNDEFFXXX</BIC></FinInstnId></CdtrAgt>"
            "<Cdtr><Nm>Creditor</Nm></Cdtr>"
            "<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>"
            "</CdtTrfTxInf></pacs.008.001.01></Document>")


def valid_parts(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """The reply's AppHdr (None for a bare Document) and Document, each valid against its XSD."""
    root = etree.fromstring(body)
    parts = [root] if etree.QName(root).localname == "Document" else list(root)
    for part in parts:
        schema = CATALOGUE.schema(etree.QName(part).namespace)
        assert schema.validate(part), [str(e) for e in schema.error_log]
    app_header = next((p for p in parts if etree.QName(p).localname == "AppHdr"), None)
    return app_header, next(p for p in parts if etree.QName(p).localname == "Document")


def texts(element: etree._Element, path: str) -> list[str]:
    """Texts at a local-name path (`Fr/FIId/FinInstnId/ClrSysMmbId/MmbId`) under `element`."""
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return element.xpath(f"{steps}/text()")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('replies') / 'ledger.db'}")
    migrate(engine)
    yield SqlStore(engine, SqlLedgerPlugin())
    engine.dispose()


def run(store, data: str, **config):
    return MessageBus(MessageReader(), store, BridgeConfig(**config)).handle(data.encode())


# --- AppHdr parties named by clearing-system member id (Fedwire ABA) ------------------------------

@pytest.mark.parametrize("version", ["01", "02", "03", "04"])
def test_fedwire_apphdr_is_answered_with_an_apphdr_in_its_own_terms(store, version: str) -> None:
    """Issue 13: an AppHdr naming both banks by ABA number got a reply without AppHdr."""
    message = swift_envelope(pacs008([Tx()]), header(version, FEDWIRE_SENDER, FEDWIRE_RECEIVER))
    reply = run(store, message).reply
    app_header, _ = valid_parts(reply.body)
    assert app_header is not None, "the reply has no AppHdr"
    assert etree.QName(app_header).namespace == f"{ISO_NAMESPACE_PREFIX}head.001.001.{version}"
    # Without a configured issuer the reply comes from whom the original was addressed to.
    assert texts(app_header, "Fr/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["011000028"]
    assert texts(app_header, "To/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["021000021"]
    assert texts(app_header, "To/FIId/FinInstnId/ClrSysMmbId/ClrSysId/Cd") == ["USABA"]
    assert texts(app_header, "Rltd/Fr/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["021000021"]
    assert texts(app_header, "Rltd/To/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["011000028"]
    assert texts(app_header, "Rltd/BizMsgIdr") == ["BIZ-FED-1"]
    assert reply.correlation_id == "BIZ-FED-1"


def test_the_issuer_answers_by_bic_to_a_sender_named_by_aba(store) -> None:
    message = swift_envelope(pacs008([Tx()]), header("02", FEDWIRE_SENDER, FEDWIRE_RECEIVER))
    app_header, _ = valid_parts(run(store, message, issuer_bic="TOKNDEFFXXX").reply.body)
    assert texts(app_header, "Fr/FIId/FinInstnId/BICFI") == ["TOKNDEFFXXX"]
    assert texts(app_header, "Fr/FIId/FinInstnId/ClrSysMmbId/MmbId") == []
    assert texts(app_header, "To/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["021000021"]


def test_every_identification_of_the_original_is_kept(store) -> None:
    """BIC, member id (proprietary clearing system), LEI, name and another id, as written."""
    sender = ("<BICFI>BNPAFRPPXXX</BICFI><ClrSysMmbId><ClrSysId><Prtry>CHIPS</Prtry></ClrSysId>"
              "<MmbId>0256</MmbId></ClrSysMmbId><LEI>R0MUWSFPU8MPRO8K5P83</LEI><Nm>BNP Paribas</Nm>"
              "<Othr><Id>APPE-1</Id><SchmeNm><Prtry>NET</Prtry></SchmeNm><Issr>NETWORK</Issr></Othr>")
    message = swift_envelope(pacs008([Tx()]), header("04", sender, "<ClrSysMmbId><MmbId>990000001T1</MmbId></ClrSysMmbId>"))
    app_header, _ = valid_parts(run(store, message).reply.body)
    to = "To/FIId/FinInstnId"
    assert texts(app_header, f"{to}/BICFI") == ["BNPAFRPPXXX"]
    assert texts(app_header, f"{to}/ClrSysMmbId/ClrSysId/Prtry") == ["CHIPS"]
    assert texts(app_header, f"{to}/ClrSysMmbId/MmbId") == ["0256"]
    assert texts(app_header, f"{to}/LEI") == ["R0MUWSFPU8MPRO8K5P83"]
    assert texts(app_header, f"{to}/Nm") == ["BNP Paribas"]
    assert texts(app_header, f"{to}/Othr/Id") == ["APPE-1"]
    assert texts(app_header, f"{to}/Othr/Issr") == ["NETWORK"]
    assert texts(app_header, "Fr/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["990000001T1"]
    assert texts(app_header, "Fr/FIId/FinInstnId/ClrSysMmbId/ClrSysId") == []


def test_header_reader_keeps_the_member_id() -> None:
    element = etree.fromstring(header("03", FEDWIRE_SENDER, "<BICFI>TOKNDEFFXXX</BICFI>"))
    read = read_business_header(element)
    assert read.from_party == HeaderParty(clearing_system="USABA", member_id="021000021")
    assert (read.from_bic, read.to_bic) == (None, "TOKNDEFFXXX")
    assert read.to_party == HeaderParty(bic="TOKNDEFFXXX")


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_a_party_keeps_only_what_its_version_can_carry(version: str) -> None:
    party = HeaderParty(bic="BNPAFRPPXXX", clearing_system="USABA", member_id="021000021",
                        lei="R0MUWSFPU8MPRO8K5P83", name="N" * 140, other_id="X1",
                        other_scheme="BANK")
    reply = ReplyHeader(from_party=HeaderParty(bic="1234DEFF"), to_party=party,
                        business_message_id="R-1", message_definition_id="pacs.002.001.10",
                        created_at=NOW, related_business_message_id="O-1",
                        related_message_definition_id="pacs.008.001.08")
    if version == "head.001.001.01":  # BICFIIdentifier wants letters first; no LEI before .02
        with pytest.raises(ValueError, match="Fr"):
            write_reply_header(reply, version)
        reply = replace(reply, from_party=HeaderParty(member_id="021000021"))
    element = write_reply_header(reply, version)
    assert CATALOGUE.schema(etree.QName(element).namespace).validate(element)
    assert texts(element, "To/FIId/FinInstnId/LEI") == ([] if version == "head.001.001.01"
                                                          else ["R0MUWSFPU8MPRO8K5P83"])
    assert texts(element, "To/FIId/FinInstnId/ClrSysMmbId/MmbId") == ["021000021"]
    assert writable_party(HeaderParty(bic="bnpafrpp", clearing_system="USABA"), version) is None
    assert writable_party(HeaderParty(member_id="M" * 36, name="Bank"), version) == HeaderParty(name="Bank")


# --- pacs.008.001.01 ------------------------------------------------------------------------------

def test_pacs008_v01_is_answered_by_pacs002_v02_and_not_applied(store) -> None:
    """Issue 13: a pacs.008.001.01 with a MsgId was refused as having "no GrpHdr/MsgId"."""
    outcome = run(store, pacs008_v01(msg_id=f"MSG-2006-{uuid.uuid4().hex[:8]}"))
    assert outcome.verdict == "rejected" and outcome.message_id.startswith("MSG-2006-")
    assert outcome.reply.message_type == "pacs.002.001.02"
    _, document = valid_parts(outcome.reply.body)
    root = "pacs.002.001.02/OrgnlGrpInfAndSts"
    assert texts(document, f"{root}/OrgnlMsgId") == [outcome.message_id]
    assert texts(document, f"{root}/OrgnlMsgNmId") == ["pacs.008.001.01"]
    assert texts(document, f"{root}/OrgnlCreDtTm") == ["2026-11-24T10:00:00"]
    assert texts(document, f"{root}/GrpSts") == ["RJCT"]
    assert texts(document, f"{root}/StsRsnInf/StsRsn/Prtry") == ["FF01"]  # not in its closed list
    [info] = texts(document, f"{root}/StsRsnInf/AddtlStsRsnInf")
    assert "not applied" in info and "pacs.008.001.02" in info
    with store() as uow:
        assert uow.ledger.supply() == {}


def test_schema_invalid_pacs008_v01_is_answered_too(store) -> None:
    broken = pacs008_v01(msg_id="MSG-2006-BAD").replace("<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>one</NbOfTxs>")
    outcome = run(store, broken)
    assert outcome.verdict == "rejected" and outcome.message_id == "MSG-2006-BAD"
    _, document = valid_parts(outcome.reply.body)
    assert texts(document, "pacs.002.001.02/OrgnlGrpInfAndSts/StsRsnInf/StsRsn/Prtry") == ["FF01"]


def test_reasons_in_the_2006_closed_list_stay_codes() -> None:
    report = StatusReport(message_id="S-1", created_at=NOW, original_message_id="M-1",
                          original_message_type="pacs.008.001.01", group_status="PART",
                          transactions=(TransactionStatus("RJCT", "E2E-1", reason="AM04"),
                                        TransactionStatus("RJCT", "E2E-2", reason="AC03"),
                                        TransactionStatus("ACSC", "E2E-3")))
    document = write_status_report(report, "pacs.002.001.02")
    assert CATALOGUE.schema(etree.QName(document).namespace).validate(document)
    tx = "pacs.002.001.02/TxInfAndSts/StsRsnInf/StsRsn"
    assert (texts(document, f"{tx}/Cd"), texts(document, f"{tx}/Prtry")) == (["AM04"], ["AC03"])


def test_only_a_pacs008_v01_may_be_answered_in_the_2006_shape() -> None:
    assert parse_reply_versions("pacs.008.001.01=pacs.002.001.02") == {"pacs.008.001.01": "pacs.002.001.02"}
    assert reply_version("pacs.008.001.01", {"pacs.008.001.01": "pacs.002.001.10"}) == "pacs.002.001.10"
    with pytest.raises(ValueError, match="in answer to pacs.008.001.08"):
        reply_version("pacs.008.001.08", {"pacs.008.001.08": "pacs.002.001.02"})


# --- date-times echoed as the original wrote them -------------------------------------------------

@pytest.mark.parametrize("created", ["2026-11-24T10:00:00", "2026-11-24T10:00:00.123456789",
                                     "2026-11-24T10:00:00.5+05:30", "2026-11-24T23:59:59-11:00",
                                     "2026-11-24T10:00:00.1Z"])
def test_orgnl_cre_dt_tm_echoes_the_original(store, created: str) -> None:
    """Issue 13: an offset-less CreDtTm came back as `Z`, fractions were cut."""
    message = pacs008([Tx()]).replace("<CreDtTm>2026-11-24T10:00:00Z</CreDtTm>",
                                      f"<CreDtTm>{created}</CreDtTm>")
    _, document = valid_parts(run(store, message).reply.body)
    assert texts(document, "FIToFIPmtStsRpt/OrgnlGrpInfAndSts/OrgnlCreDtTm") == [created]


@pytest.mark.parametrize("version, created, expected", [
    ("02", "2026-11-24T10:00:00", "2026-11-24T10:00:00"),
    ("03", "2026-11-24T10:00:00.123456+01:00", "2026-11-24T10:00:00.123456+01:00"),
    ("04", "2026-11-24T10:00:00.5Z", "2026-11-24T10:00:00.5Z"),
    ("01", "2026-11-24T10:00:00.123456Z", "2026-11-24T10:00:00.123456Z"),
])
def test_rltd_cre_dt_echoes_the_original_header(store, version: str, created: str, expected: str) -> None:
    message = swift_envelope(pacs008([Tx()]), header(version, "<BICFI>BNPAFRPPXXX</BICFI>",
                                                     "<BICFI>TOKNDEFFXXX</BICFI>", created=created))
    app_header, _ = valid_parts(run(store, message).reply.body)
    assert texts(app_header, "Rltd/CreDt") == [expected]


def test_head_001_001_01_gets_utc_where_the_original_was_not() -> None:
    """head.001.001.01 CreDt is ISONormalisedDateTime (`.*Z`): an offset becomes UTC."""
    moment = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert echoed_datetime("2026-11-24T11:00:00+01:00", moment, utc_only=True) == "2026-11-24T10:00:00Z"
    assert echoed_datetime("2026-11-24T11:00:00+01:00", moment) == "2026-11-24T11:00:00+01:00"
    assert echoed_datetime("24.11.2026 11:00", moment) == "2026-11-24T10:00:00Z"  # not an ISODateTime
    assert echoed_datetime("2026-02-30T10:00:00", None) is None  # no such day
    report = StatusReport(message_id="S-1", created_at=NOW, original_message_id="M-1",
                          original_message_type="pacs.008.001.08", group_status="ACSC",
                          original_created_at=moment.replace(tzinfo=None),
                          original_created_at_text="2026-11-24T11:00:00")
    reply = ReplyHeader(from_party=HeaderParty(bic="TOKNDEFFXXX"),
                        to_party=HeaderParty(member_id="021000021"), business_message_id="R-1",
                        message_definition_id="pacs.002.001.10", created_at=NOW,
                        related_business_message_id="O-1", related_message_definition_id=None)
    for version, expected in (("head.001.001.01", "2026-11-24T11:00:00Z"),
                              ("head.001.001.02", "2026-11-24T11:00:00")):
        app_header, document = valid_parts(write_reply(report, "pacs.002.001.10", reply, version))
        assert texts(app_header, "Rltd/CreDt") == [expected]
        assert texts(document, "FIToFIPmtStsRpt/OrgnlGrpInfAndSts/OrgnlCreDtTm") == ["2026-11-24T11:00:00"]

