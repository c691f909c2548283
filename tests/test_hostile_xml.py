"""Hostile and broken XML is refused with a clear rule id, never expanded, never fetched."""
from __future__ import annotations

import pytest

from bridge.iso.errors import UnsafeXmlError
from bridge.iso.reader import MessageReader
from bridge.iso.safe_xml import parse_untrusted
from builders import pacs008

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&lol9;</Document>')
QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"x" * 50_000 + b'">]><d>'
             + b"&a;" * 20_000 + b"</d>")
XXE_FILE = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
XXE_NETWORK = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]><d>&e;</d>'
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd">'
                    b"%p;]><d/>")
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/d.dtd"><d/>'


@pytest.mark.parametrize("data, rule", [
    (BILLION_LAUGHS, "xml.dtd"),
    (QUADRATIC, "xml.dtd"),
    (XXE_FILE, "xml.dtd"),
    (XXE_NETWORK, "xml.dtd"),
    (PARAMETER_ENTITY, "xml.dtd"),
    (EXTERNAL_DTD, "xml.dtd"),
    (b"<a>" * 100_000 + b"</a>" * 100_000, "xml.too-deep"),
    (pacs008().encode()[:-40], "xml.truncated"),
    (b"<Document>caf\xe9</Document>", "xml.encoding"),
    ('<?xml version="1.0" encoding="UTF-16"?><d/>'.encode("utf-16"), "xml.encoding"),
    (b'<?xml version="1.0" encoding="ISO-8859-1"?><d/>', "xml.encoding"),
    (b"", "xml.empty"),
    (b"  \r\n ", "xml.empty"),
    (b"not xml at all", "xml.syntax"),
    (b"<a><b></a>", "xml.syntax"),
], ids=["billion-laughs", "quadratic", "xxe-file", "xxe-network", "parameter-entity",
        "external-dtd", "deep-nesting", "truncated", "invalid-utf8", "utf16", "latin1",
        "empty", "blank", "not-xml", "mismatched-tags"])
def test_hostile_input_is_refused_with_its_rule(data: bytes, rule: str) -> None:
    with pytest.raises(UnsafeXmlError) as refused:
        parse_untrusted(data)
    assert refused.value.rule == rule
    assert str(refused.value)


def test_entities_are_never_expanded_or_fetched() -> None:
    with pytest.raises(UnsafeXmlError) as refused:
        parse_untrusted(XXE_FILE)
    assert "root:" not in str(refused.value)


def test_oversized_input_is_refused_before_parsing() -> None:
    sixty_mib = b"<Document>" + b" " * (60 * 1024 * 1024) + b"</Document>"
    with pytest.raises(UnsafeXmlError) as refused:
        parse_untrusted(sixty_mib)
    assert refused.value.rule == "xml.too-large"
    assert "10,485,760" in str(refused.value)


def test_size_limit_is_configurable() -> None:
    message = pacs008().encode()
    assert MessageReader(max_bytes=len(message)).read(message).valid
    refused = MessageReader(max_bytes=len(message) - 1).read(message)
    assert [f.rule for f in refused.findings] == ["xml.too-large"]


def test_utf8_bom_and_crlf_and_non_ascii_are_accepted(reader) -> None:
    text = pacs008().replace("<Nm>Debtor</Nm>", "<Nm>Zoë Ærøskøbing 東京</Nm>")
    data = b"\xef\xbb\xbf" + ('<?xml version="1.0" encoding="UTF-8"?>\r\n' + text).replace(">", ">\r\n", 5).encode()
    result = reader.read(data)
    assert result.valid, result.findings
    assert result.payload.transactions[0].debtor.name == "Zoë Ærøskøbing 東京"


def test_reader_turns_hostile_input_into_a_finding_not_an_exception(reader) -> None:
    result = reader.read(BILLION_LAUGHS)
    assert not result.valid
    assert result.findings[0].rule == "xml.dtd"
    assert result.findings[0].reason == "FF01"
    assert result.message_type is None
