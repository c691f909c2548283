"""The pacs.002 reply and its AppHdr written as text: byte for byte what the element writer it
replaced wrote (tests/pacs002_reference.py), for every pacs.002 version (.02-.16), bare and in
an Envelope with every head.001 version, across parties, reasons, statuses and texts that need
escaping; and valid against the official XSDs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

import pacs002_reference as reference
from bridge.iso.apphdr import HEADER_VERSIONS, reply_header_xml, write_reply_header
from bridge.iso.building import leaf, xml_text
from bridge.iso.catalogue import SchemaCatalogue
from bridge.iso.pacs002 import SUPPORTED_VERSIONS, reply_app_header, write_reply, write_status_report
from bridge.status import HeaderParty, ReplyHeader, StatusReport, TransactionStatus

CREATED = datetime(2026, 11, 24, 10, 0, 5, 123456, tzinfo=timezone.utc)
ORIGINAL = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
ODD = "R&D <Ltd> \"quoted\" 'single' ]]> a\rb\tc é 口座 🚫"


def _tx(status: str, **extra) -> TransactionStatus:
    return TransactionStatus(status, **extra)


REPORTS = {
    "accepted": StatusReport(
        message_id="STS-1", created_at=CREATED, original_message_id="MSG-1",
        original_message_type="pacs.008.001.08", group_status="ACSC", original_created_at=ORIGINAL,
        original_created_at_text="2026-11-24T11:00:00+01:00", instructing_agent_bic="TOKNDEFFXXX",
        instructed_agent_bic="BNPAFRPPXXX",
        transactions=(_tx("ACSC", original_end_to_end_id="E2E-1", original_instruction_id="I-1",
                          original_transaction_id="TX-1",
                          original_uetr="8A562C67-CA16-48BA-B074-65581BE6F011"),)),
    "partial-with-reasons": StatusReport(
        message_id="STS-2", created_at=datetime(2026, 1, 2, 3, 4, 5), original_message_id=ODD,
        original_message_type="pacs.008.001.02", group_status="PART", original_created_at=ORIGINAL,
        original_created_at_text="not a date", instructing_agent_bic="TOKNDEFF",
        transactions=(
            _tx("ACSP", original_end_to_end_id=ODD, original_uetr="not-a-uetr"),
            _tx("RJCT", original_end_to_end_id="E2E-2", reason="AM04", additional_info=ODD * 5),
            _tx("RJCT", reason="TOKEN-LEDGER-DOWN-" * 3, additional_info="\x00\x1f only controls"),
            _tx("RJCT", reason="FF01"),  # outside the 2006 closed list
            _tx("RJCT", additional_info="no code, only words"),
            _tx("ACCC", original_end_to_end_id=""),  # a newer code, closed lists' nearest
        )),
    "group-reject": StatusReport(
        message_id="STS-3", created_at=CREATED, original_message_id="MSG-3",
        original_message_type="pacs.008.001.01", group_status="RJCT", group_reason="AC06",
        group_additional_info=ODD, instructed_agent_bic="BNPAFRPP"),
    "some-transactions": StatusReport(
        message_id="STS-4", created_at=CREATED, original_message_id="MSG-4",
        original_message_type="pacs.028.001.03", group_status=None,
        transactions=(_tx("ACSC", original_uetr="0f8fad5b-d9cb-469f-a165-70867728950e"),)),
}

PARTIES = {
    "bic": HeaderParty(bic="TOKNDEFFXXX"),
    "member": HeaderParty(clearing_system="USABA", member_id="021000021", name=ODD),
    "member-proprietary": HeaderParty(clearing_system_proprietary="CHIPS", member_id="0002",
                                      lei="529900T8BM49AURSDO55"),
    "other": HeaderParty(bic="1NVALID1", other_id="ACC-9", other_scheme_proprietary="Local & Co",
                         other_issuer="Issuer <1>", name="N" * 200),
    "other-code": HeaderParty(other_id="X", other_scheme="BANK", lei="bad lei"),
    "organisation": HeaderParty(organisation=True, name="Corp & Sons", bic="CORPDEFF",
                                lei="529900T8BM49AURSDO55", other_id="CHANNEL-1", other_scheme="CUST",
                                other_issuer="TOKN", member_id="dropped"),
    "organisation-name-only": HeaderParty(organisation=True, name="Only a name"),
}


def _headers() -> dict[str, ReplyHeader]:
    base = dict(from_party=PARTIES["bic"], to_party=HeaderParty(bic="BNPAFRPPXXX"),
                business_message_id="REPLY-1", message_definition_id="pacs.002.001.10",
                created_at=CREATED, related_business_message_id="BIZ-ORIG",
                related_message_definition_id="pacs.008.001.08")
    headers = {
        "full": ReplyHeader(**base, related_from=PARTIES["member"], related_to=PARTIES["other"],
                            related_created_at=ORIGINAL, related_created_at_text="2026-11-24T10:00:00.5Z",
                            business_service="swift.cbprplus.02"),
        "fallbacks": ReplyHeader(**{**base, "related_message_definition_id": None}),
        "offset-text": ReplyHeader(**base, related_created_at_text="2026-11-24T11:00:00+01:00"),
        "no-related": ReplyHeader(**{**base, "related_business_message_id": None},
                                  business_service=ODD),
    }
    for name, party in PARTIES.items():
        headers[f"from-{name}"] = ReplyHeader(**{**base, "from_party": party, "to_party": party},
                                              related_from=party, related_to=party)
    return headers


HEADERS = _headers()


def _same(new, old) -> None:
    """The same bytes, or the same refusal."""
    try:
        expected = old()
    except ValueError as exc:
        with pytest.raises(type(exc)):
            new()
        return
    assert new() == expected


@pytest.mark.parametrize("kind", sorted(REPORTS))
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_bare_reply_is_the_element_writers(version: str, kind: str) -> None:
    report = REPORTS[kind]
    _same(lambda: write_reply(report, version), lambda: reference.write_reply(report, version))


@pytest.mark.parametrize("header_version", HEADER_VERSIONS)
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_enveloped_reply_is_the_element_writers(version: str, header_version: str) -> None:
    for kind, report in REPORTS.items():
        for name, header in HEADERS.items():
            _same(lambda: write_reply(report, version, header, header_version),
                  lambda: reference.write_reply(report, version, header, header_version))


@pytest.mark.parametrize("header_version", HEADER_VERSIONS + ("head.001.001.05",))
def test_app_header_elements_are_the_element_writers(header_version: str) -> None:
    # Canonical XML: an element parsed from `<X></X>` has no text and lxml writes it `<X/>`, the
    # same XML (the writers' own output, the bytes, is compared above).
    def tostring(write):
        return lambda: etree.tostring(write(), method="c14n")
    for name, header in HEADERS.items():
        _same(tostring(lambda: write_reply_header(header, header_version)),
              tostring(lambda: reference.write_reply_header(header, header_version)))
        _same(tostring(lambda: reply_app_header(header, header_version, "pacs.008.001.08", ORIGINAL, None)),
              tostring(lambda: reference.reply_app_header(header, header_version, "pacs.008.001.08",
                                                          ORIGINAL, None)))
    for kind, report in REPORTS.items():
        for version in SUPPORTED_VERSIONS:
            _same(tostring(lambda: write_status_report(report, version)),
                  tostring(lambda: reference.write_status_report(report, version)))


@pytest.mark.parametrize("header_version", HEADER_VERSIONS)
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_variant_is_valid(version: str, header_version: str) -> None:
    catalogue = SchemaCatalogue()
    for kind, report in REPORTS.items():
        if kind == "partial-with-reasons":
            continue  # texts beyond their types' lengths, for the comparison above
        try:
            data = write_reply(report, version, HEADERS["full"], header_version)
        except ValueError:
            continue  # a status this version cannot express: refused, as before
        envelope = etree.fromstring(data)
        for element in envelope:
            schema = catalogue.schema(etree.QName(element).namespace)
            assert schema.validate(element), (kind, [str(e) for e in schema.error_log])


def test_text_is_escaped_as_lxml_escapes_it() -> None:
    assert xml_text("INSTR-1") == "INSTR-1"
    assert leaf("Nm", 'a&b<c>d"e\'f\rg') == "<Nm>a&amp;b&lt;c&gt;d\"e'f&#13;g</Nm>"
    assert leaf("Nm", "") == "<Nm></Nm>" and leaf("Nm", None) == "<Nm/>"
    for bad in ("a\x00", "b\x1f", "c\ufffe", "d\ud800"):
        with pytest.raises(ValueError):
            xml_text(bad)


def test_reply_header_text_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="head.001.001.05"):
        reply_header_xml(HEADERS["full"], "head.001.001.05")
    with pytest.raises(ValueError, match="MsgDefIdr"):
        reply_header_xml(HEADERS["fallbacks"], "head.001.001.02")
