"""pacs.002 replies and their AppHdr: valid against the official XSD of every version, readable
back through the bridge's own reader, and answering each pacs.008 in the version of its release."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from bridge.iso.apphdr import HEADER_VERSIONS, iso_utc_datetime, write_reply_header
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX, SchemaCatalogue
from bridge.iso.pacs002 import (
    REPLY_VERSIONS,
    SUPPORTED_VERSIONS,
    additional_info_text,
    parse_reply_versions,
    reply_version,
    write_reply,
    write_status_report,
)
from bridge.status import HeaderParty, ReplyHeader, StatusReport, TransactionStatus

CREATED = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone.utc)
ORIGINAL_CREATED = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
LONG_TEXT = ("Konto gesperrt – Überweisung abgelehnt; 口座が凍結されています 🚫. " * 6)[:300]


@pytest.fixture(scope="module")
def catalogue() -> SchemaCatalogue:
    return SchemaCatalogue()


def _validate(catalogue: SchemaCatalogue, element: etree._Element) -> None:
    schema = catalogue.schema(etree.QName(element).namespace)
    assert schema.validate(element), [str(e) for e in schema.error_log]


def _accepted(index: int) -> TransactionStatus:
    return TransactionStatus("ACSC", original_end_to_end_id=f"E2E-{index}",
                             original_instruction_id=f"INSTR-{index}",
                             original_transaction_id=f"TX-{index}",
                             original_uetr=f"8a562c67-ca16-48ba-b074-65581be6f01{index}")


def _report(group_status: str, transactions: tuple[TransactionStatus, ...] = (), **extra) -> StatusReport:
    return StatusReport(message_id="STS-1", created_at=CREATED, original_message_id="MSG-1",
                        original_message_type="pacs.008.001.08", group_status=group_status,
                        original_created_at=ORIGINAL_CREATED, instructing_agent_bic="TOKNDEFFXXX",
                        instructed_agent_bic="BNPAFRPPXXX", transactions=transactions, **extra)


REPORTS = {
    "all-accepted": _report("ACSC", (_accepted(1), _accepted(2))),
    "partial": _report("PART", (
        _accepted(1),
        TransactionStatus("RJCT", original_end_to_end_id="E2E-2", original_transaction_id="TX-2",
                          original_uetr="0f8fad5b-d9cb-469f-a165-70867728950e", reason="AM04",
                          additional_info="insufficient tokens in wallet 0xabc"))),
    "group-reject": _report("RJCT", group_reason="FF01",
                            group_additional_info="Document invalid against pacs.008.001.08.xsd"),
    "long-non-ascii-reject": _report("RJCT", (
        TransactionStatus("RJCT", original_end_to_end_id="E2E-Ü", reason="AC06",
                          additional_info=LONG_TEXT),), group_reason="AC06",
        group_additional_info=LONG_TEXT + "\x00\x1f control characters"),
    "in-process-minimal": StatusReport(
        message_id="STS-2", created_at=datetime(2026, 1, 2, 3, 4, 5, 678901),
        original_message_id="MSG-2", original_message_type="pacs.008.001.02", group_status="ACSP",
        transactions=(TransactionStatus("ACSP"),)),
}


@pytest.mark.parametrize("kind", sorted(REPORTS))
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_report_is_valid_in_every_version(catalogue, version: str, kind: str) -> None:
    document = write_status_report(REPORTS[kind], version)
    assert etree.QName(document).namespace == ISO_NAMESPACE_PREFIX + version
    _validate(catalogue, document)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_version_specific_elements(version: str) -> None:
    document = write_status_report(REPORTS["partial"], version)
    ns = {"p": ISO_NAMESPACE_PREFIX + version}
    bic = "BIC" if version in ("pacs.002.001.02", "pacs.002.001.03") else "BICFI"
    assert document.xpath(f"string(//p:GrpHdr/p:InstgAgt/p:FinInstnId/p:{bic})", namespaces=ns) == "TOKNDEFFXXX"
    uetrs = document.xpath("//p:OrgnlUETR/text()", namespaces=ns)
    assert uetrs == ([] if int(version[-2:]) < 10 else
                     ["8a562c67-ca16-48ba-b074-65581be6f011", "0f8fad5b-d9cb-469f-a165-70867728950e"])


def test_long_additional_info_is_cut_to_105_characters() -> None:
    document = write_status_report(REPORTS["long-non-ascii-reject"], "pacs.002.001.10")
    texts = document.xpath("//*[local-name()='AddtlInf']/text()")
    assert len(texts) == 2
    assert all(len(t) == 105 and t.endswith("...") for t in texts)
    assert texts[1].startswith("Konto gesperrt – Überweisung abgelehnt; 口座が凍結されています 🚫.")


def test_additional_info_text() -> None:
    assert additional_info_text(None) is None
    assert additional_info_text(" \n\t\x00 ") is None
    assert additional_info_text("two\nlines\x07here") == "two lines here"
    # A cut never separates a letter from its combining accent.
    text = additional_info_text("a" * 101 + "e\u0301" * 5)
    assert len(text) <= 105 and text.endswith("...") and not text[:-3].endswith("e")


def test_proprietary_reason_and_unknown_codes() -> None:
    report = _report("RJCT", (TransactionStatus("RJCT", reason="TOKEN-LEDGER-DOWN"),))
    document = write_status_report(report, "pacs.002.001.03")
    assert document.xpath("//*[local-name()='Prtry']/text()") == ["TOKEN-LEDGER-DOWN"]
    with pytest.raises(ValueError, match="pacs.002"):
        write_status_report(report, "pacs.002.001.01")
    with pytest.raises(ValueError, match="1-4 character"):
        write_status_report(_report("ACCEPTED"), "pacs.002.001.10")


def test_newer_status_codes_fall_back_to_the_closed_lists(catalogue) -> None:
    report = _report("ACCC", (TransactionStatus("ACCC", original_end_to_end_id="E2E-1"),))
    old = write_status_report(report, "pacs.002.001.07")
    assert old.xpath("//*[local-name()='GrpSts' or local-name()='TxSts']/text()") == ["ACSC", "ACSC"]
    _validate(catalogue, old)
    new = write_status_report(report, "pacs.002.001.08")
    assert new.xpath("//*[local-name()='TxSts']/text()") == ["ACCC"]
    with pytest.raises(ValueError, match="cannot be expressed in pacs.002.001.05"):
        write_status_report(_report("ACSC", (TransactionStatus("PART"),)), "pacs.002.001.05")


# --- AppHdr -------------------------------------------------------------------------------------

def _header(**extra) -> ReplyHeader:
    values = dict(from_bic="TOKNDEFFXXX", to_bic="BNPAFRPPXXX", business_message_id="REPLY-1",
                  message_definition_id="pacs.002.001.10", created_at=CREATED,
                  related_business_message_id="BIZ-ORIG", related_message_definition_id="pacs.008.001.08",
                  related_created_at=ORIGINAL_CREATED, business_service="swift.cbprplus.02")
    values.update(extra)
    for bic_key, party_key in (("from_bic", "from_party"), ("to_bic", "to_party"),
                               ("related_from_bic", "related_from"), ("related_to_bic", "related_to")):
        if bic_key in values:
            bic = values.pop(bic_key)
            values[party_key] = HeaderParty(bic=bic) if bic else None
    return ReplyHeader(**values)


def _text(element: etree._Element, path: str) -> str:
    return element.xpath(f"string({path})", namespaces={"h": etree.QName(element).namespace})


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_reply_header_is_valid_in_every_version(catalogue, version: str) -> None:
    header = write_reply_header(_header(), version)
    _validate(catalogue, header)
    assert _text(header, "h:Fr/h:FIId/h:FinInstnId/h:BICFI") == "TOKNDEFFXXX"
    assert _text(header, "h:To/h:FIId/h:FinInstnId/h:BICFI") == "BNPAFRPPXXX"
    assert _text(header, "h:BizSvc") == "swift.cbprplus.02"
    assert _text(header, "h:CreDt") == "2026-11-24T10:00:05Z"
    assert _text(header, "h:Rltd/h:BizMsgIdr") == "BIZ-ORIG"
    assert _text(header, "h:Rltd/h:MsgDefIdr") == "pacs.008.001.08"
    assert _text(header, "h:Rltd/h:CreDt") == "2026-11-24T10:00:00Z"


@pytest.mark.parametrize("version", HEADER_VERSIONS)
def test_unknown_original_parties_are_the_reply_parties_swapped(catalogue, version: str) -> None:
    header = write_reply_header(_header(related_created_at=None, business_service=None), version)
    _validate(catalogue, header)
    assert _text(header, "h:Rltd/h:Fr/h:FIId/h:FinInstnId/h:BICFI") == "BNPAFRPPXXX"
    assert _text(header, "h:Rltd/h:To/h:FIId/h:FinInstnId/h:BICFI") == "TOKNDEFFXXX"
    assert header.find(f"{{{etree.QName(header).namespace}}}BizSvc") is None


def test_given_original_parties_are_kept_and_header_without_original_has_no_rltd(catalogue) -> None:
    header = write_reply_header(_header(related_from_bic="DEUTDEFFXXX", related_to_bic="TOKNDEFF"),
                                "head.001.001.02")
    assert _text(header, "h:Rltd/h:Fr/h:FIId/h:FinInstnId/h:BICFI") == "DEUTDEFFXXX"
    assert _text(header, "h:Rltd/h:To/h:FIId/h:FinInstnId/h:BICFI") == "TOKNDEFF"
    bare = write_reply_header(_header(related_business_message_id=None), "head.001.001.01")
    _validate(catalogue, bare)
    assert _text(bare, "count(h:Rltd)") == "0"


def test_reply_header_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="head.001.001.05"):
        write_reply_header(_header(), "head.001.001.05")
    with pytest.raises(ValueError, match="Fr"):
        write_reply_header(_header(to_bic=None), "head.001.001.02")
    with pytest.raises(ValueError, match="MsgDefIdr"):
        write_reply_header(_header(related_message_definition_id=None), "head.001.001.02")


def test_datetimes_are_utc_with_z() -> None:
    assert iso_utc_datetime(ORIGINAL_CREATED) == "2026-11-24T10:00:00Z"
    assert iso_utc_datetime(datetime(2026, 1, 2, 3, 4, 5, 678901)) == "2026-01-02T03:04:05.678Z"


# --- Round trip ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("header_version", HEADER_VERSIONS)
def test_round_trip_through_the_reader(reader, version: str, header_version: str) -> None:
    report = REPORTS["partial"]
    header = _header(message_definition_id=version, related_message_definition_id=None,
                     related_created_at=None)
    data = write_reply(report, version, header, header_version)
    assert data.startswith(b"<?xml") and b'<Envelope xmlns="urn:swift:xsd:envelope">' in data
    result = reader.read(data)
    assert result.valid, result.findings
    assert result.message_type == version
    assert result.header.business_message_id == "REPLY-1"
    assert result.header.version == header_version

    root = etree.fromstring(data)
    ns = {"p": ISO_NAMESPACE_PREFIX + version, "h": ISO_NAMESPACE_PREFIX + header_version}
    assert root.xpath("string(h:AppHdr/h:Rltd/h:MsgDefIdr)", namespaces=ns) == "pacs.008.001.08"
    assert root.xpath("string(h:AppHdr/h:Rltd/h:CreDt)", namespaces=ns) == "2026-11-24T10:00:00Z"
    # pacs.002.001.02, the 2006 shape, names its root after itself and its reason `StsRsn`.
    oldest = version == "pacs.002.001.02"
    message_root, reason = ("p:pacs.002.001.02", "StsRsn") if oldest else ("p:FIToFIPmtStsRpt", "Rsn")
    read_back = [(tx.findtext("p:OrgnlEndToEndId", namespaces=ns), tx.findtext("p:TxSts", namespaces=ns),
                  tx.findtext(f"p:StsRsnInf/p:{reason}/p:Cd", namespaces=ns))
                 for tx in root.iterfind(f"p:Document/{message_root}/p:TxInfAndSts", namespaces=ns)]
    assert read_back == [(t.original_end_to_end_id, t.status, t.reason) for t in report.transactions]
    assert root.xpath("string(//p:GrpSts)", namespaces=ns) == "PART"


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_bare_document_reply(reader, kind: str) -> None:
    data = write_reply(REPORTS[kind], "pacs.002.001.03")
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<Document")
    result = reader.read(data)
    assert result.valid, result.findings
    assert (result.envelope, result.header, result.message_type) == ("bare Document", None,
                                                                    "pacs.002.001.03")
    group_info = etree.fromstring(data).xpath("string(//*[local-name()='OrgnlGrpInfAndSts']/"
                                              "*[local-name()='StsRsnInf']/*[local-name()='Rsn'])")
    assert group_info == (REPORTS[kind].group_reason or "")


def test_non_ascii_survives_as_utf8(reader) -> None:
    data = write_reply(REPORTS["long-non-ascii-reject"], "pacs.002.001.15", _header())
    assert "口座が凍結されています".encode() in data
    assert reader.read(data).valid


# --- Which version answers which ----------------------------------------------------------------

def test_default_reply_versions_pair_each_release() -> None:
    assert reply_version("pacs.008.001.02") == "pacs.002.001.03"
    assert reply_version("pacs.008.001.07") == "pacs.002.001.09"  # same 2018 release, not .08
    assert reply_version("pacs.008.001.08") == "pacs.002.001.10"  # CBPR+
    assert reply_version("pacs.008.001.13") == "pacs.002.001.15"
    assert reply_version("pacs.008.001.14") == "pacs.002.001.16"  # 2026, both 2026 Mar 02
    assert reply_version("pacs.008.001.01") == "pacs.002.001.02"  # both 2006 Sep 08
    assert list(REPLY_VERSIONS) == [f"pacs.008.001.{n:02d}" for n in range(1, 15)]
    assert set(REPLY_VERSIONS.values()) <= set(SUPPORTED_VERSIONS)


def test_every_carried_release_is_answered_and_writable(catalogue) -> None:
    """A release added to schemas/ (pacs.008.001.14 and pacs.002.001.16 in 2026) is mapped and
    written, not only validated: every pacs.008 XSD has a reply version, every pacs.002 one a writer."""
    carried = catalogue.message_types()
    assert [t for t in carried if t.startswith("pacs.008.")] == list(REPLY_VERSIONS)
    assert [t for t in carried if t.startswith("pacs.002.")] == list(SUPPORTED_VERSIONS)


def test_paired_versions_are_generated_together() -> None:
    """Each pair comes from the same ISO release: the XSDs were generated on the same day."""
    from bridge.iso.catalogue import default_schema_dir

    def generated(message_type: str) -> str:
        with open(default_schema_dir() / f"{message_type}.xsd", encoding="utf-8") as xsd:
            xsd.readline()
            return xsd.readline().split(" on ")[1].split(",")[0][:11]

    for source, target in REPLY_VERSIONS.items():
        assert generated(source) == generated(target), (source, target)


def test_overrides_win() -> None:
    overrides = {"pacs.008.001.08": "pacs.002.001.12", "pacs.008.001.01": "pacs.002.001.03"}
    assert reply_version("pacs.008.001.08", overrides) == "pacs.002.001.12"
    assert reply_version("pacs.008.001.09", overrides) == "pacs.002.001.11"
    assert reply_version("pacs.008.001.01", overrides) == "pacs.002.001.03"
    assert reply_version("pacs.008.001.14", {"pacs.008.001.14": "pacs.002.001.15"}) == "pacs.002.001.15"
    assert reply_version("pacs.008.001.08", {"pacs.008.001.08": "pacs.002.001.16"}) == "pacs.002.001.16"
    with pytest.raises(ValueError, match="pacs.002.001.99"):
        reply_version("pacs.008.001.08", {"pacs.008.001.08": "pacs.002.001.99"})


@pytest.mark.parametrize("input_type", ["pacs.008.001.15", "camt.053.001.08", ""])
def test_unknown_input_has_no_reply_version(input_type: str) -> None:
    with pytest.raises(ValueError, match="no pacs.002 reply version"):
        reply_version(input_type)


def test_parse_reply_versions() -> None:
    assert parse_reply_versions("") == {}
    assert parse_reply_versions(" pacs.008.001.08 = pacs.002.001.12 , pacs.008.001.02=pacs.002.001.03,") == {
        "pacs.008.001.08": "pacs.002.001.12", "pacs.008.001.02": "pacs.002.001.03"}


@pytest.mark.parametrize("text, message", [
    ("pacs.008.001.08", "expected"),
    ("pacs.008.001.08=", "expected"),
    ("=pacs.002.001.10", "expected"),
    ("pacs.008.001.08=pacs.002.001.10=x", "expected"),
    ("pacs.008.001.08:pacs.002.001.10", "expected"),
    ("pacs.008.001.99=pacs.002.001.10", "not a pacs.008 version"),
    ("camt.053.001.08=pacs.002.001.10", "not a pacs.008 version"),
    ("pacs.008.001.08=pacs.002.001.02", "not a pacs.002 version"),
    ("pacs.008.001.08=camt.053.001.08", "not a pacs.002 version"),
    ("pacs.008.001.08=pacs.002.001.10,pacs.008.001.08=pacs.002.001.12", "mapped twice"),
])
def test_parse_reply_versions_refuses_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_reply_versions(text)
