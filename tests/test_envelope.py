"""The Document and AppHdr are found by namespace under any wrapper; the type comes from the
Document namespace only."""
from __future__ import annotations

import pytest

from builders import app_header, pacs008, swift_envelope

WRAPPERS = {
    "swift-envelope": lambda d, h: swift_envelope(d, h),
    "no-namespace-message": lambda d, h: f"<message>{h}{d}</message>",
    "swiftnet-request": lambda d, h: ('<Request xmlns="urn:swift:snl:ns.SwInt"><RequestPayload>'
                                      f"{h}{d}</RequestPayload></Request>"),
    "fednow-style": lambda d, h: ('<FedNowIncoming xmlns="urn:fednow:incoming:v001"><FedNowIncomingMessage>'
                                  f"<FedNowCustomerCreditTransfer>{h}{d}</FedNowCustomerCreditTransfer>"
                                  "</FedNowIncomingMessage></FedNowIncoming>"),
    "document-first": lambda d, h: f"<BusMsg>{d}{h}</BusMsg>",
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_document_and_header_found_under_any_wrapper(reader, wrapper: str) -> None:
    data = WRAPPERS[wrapper](pacs008(msg_id="M-ENV"), app_header(biz_msg_id="B-ENV")).encode()
    result = reader.read(data)
    assert result.valid, result.findings
    assert result.message_type == "pacs.008.001.08"
    assert result.header.business_message_id == "B-ENV"
    assert result.header_valid is True
    assert result.payload.group_header.message_id == "M-ENV"


def test_bare_document(reader) -> None:
    result = reader.read(pacs008().encode())
    assert (result.envelope, result.header, result.valid) == ("bare Document", None, True)


def test_prefixed_namespaces_without_declaration(reader) -> None:
    document = (pacs008().replace("<Document xmlns=", "<p:Document xmlns:p=")
                .replace("</Document>", "</p:Document>"))
    # Prefix every element of the Document: rewrite tags inside it.
    import re
    body = re.sub(r"<(/?)(?!p:)([A-Za-z]+)([ >])", r"<\1p:\2\3", document)
    result = reader.read(swift_envelope(body, app_header(prefix="h")).encode())
    assert result.valid, result.findings
    assert result.header.from_bic == "BNPAFRPPXXX"


def test_version_comes_from_the_document_not_the_header(reader) -> None:
    data = swift_envelope(pacs008(version="13"), app_header(msg_def="pacs.008.001.08")).encode()
    result = reader.read(data)
    assert result.message_type == "pacs.008.001.13"
    assert result.header.message_definition_id == "pacs.008.001.08"
    assert result.valid


def test_header_naming_another_message_family_is_refused(reader) -> None:
    data = swift_envelope(pacs008(), app_header(msg_def="camt.053.001.08")).encode()
    result = reader.read(data)
    assert [f.rule for f in result.findings] == ["header.msgdefidr"]


def test_invalid_header_is_reported_with_its_part(reader) -> None:
    header = app_header().replace("2026-11-24T10:00:00Z", "CURRENT_TIME")
    result = reader.read(swift_envelope(pacs008(), header).encode())
    assert result.document_valid is True and result.header_valid is False
    assert not result.valid
    assert result.findings[0].part == "AppHdr" and result.findings[0].line == 1


def test_no_document_and_two_documents_are_refused(reader) -> None:
    none = reader.read(b'<Message xmlns="urn:tch"><AppHdr/><FIToFICstmrCdtTrf/></Message>')
    assert [f.rule for f in none.findings] == ["iso.no-document"]
    assert none.envelope == "Message (urn:tch)"
    two = reader.read(f"<message>{pacs008()}{pacs008()}</message>".encode())
    assert [f.rule for f in two.findings] == ["iso.multiple-documents"]


def test_unknown_iso_version_is_refused(reader) -> None:
    data = pacs008().replace("pacs.008.001.08", "pacs.008.001.99").encode()
    result = reader.read(data)
    assert result.message_type == "pacs.008.001.99"
    assert [f.rule for f in result.findings] == ["iso.unknown-message"]


def test_xsd_errors_carry_line_column_path_and_message(reader) -> None:
    text = pacs008().replace("<NbOfTxs>", "\n<Bogus/><NbOfTxs>")
    result = reader.read(text.encode())
    assert result.document_valid is False
    finding = result.findings[0]
    assert finding.line == 2 and finding.column is not None
    assert finding.path == "/Document/FIToFICstmrCdtTrf/GrpHdr/Bogus"
    assert "Bogus" in finding.message and "{" not in finding.message
    assert finding.rule.startswith("xsd.") and finding.reason == "FF01"


@pytest.mark.parametrize("message_type", ["pacs.008.001.02", "pacs.008.001.13", "pacs.008.001.14", "camt.053.001.02",
                                          "camt.053.001.14", "head.001.001.04", "pacs.002.001.10",
                                          "pacs.002.001.16", "pacs.004.001.15", "pacs.009.001.13"])
def test_catalogue_holds_the_supported_versions(reader, message_type: str) -> None:
    assert message_type in reader.catalogue.message_types()


def test_xsd_messages_keep_the_pattern_as_the_schema_states_it(reader) -> None:
    """Issue 13: `[0-9]{1,15}` was printed `[0-9]`: quantifiers are not namespaces."""
    text = pacs008(version="02").replace("<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>x{1}</NbOfTxs>")
    text = text.replace("<BIC>BNPAFRPPXXX</BIC>", "<BIC>bnpafrpp</BIC>", 1)
    messages = [f.message for f in reader.read(text.encode()).findings]
    assert "Element 'NbOfTxs': [facet 'pattern'] The value 'x{1}' is not accepted by the " \
           "pattern '[0-9]{1,15}'." in messages
    assert any("'[A-Z]{6,6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3,3}){0,1}'" in m for m in messages)
    assert not any("urn:iso" in m for m in messages)
