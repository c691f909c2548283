"""Parsing untrusted bytes: refuse what could hurt before and while parsing, never expand it.

ISO 20022 messages are UTF-8 XML without DTDs, so anything else is refused outright: no
DTD (hence no entities, internal or external), no network or file access, a byte limit checked
before parsing and libxml2's own nesting limit while parsing.
"""
from __future__ import annotations

import re
import threading

from lxml import etree

from bridge.iso.errors import UnsafeXmlError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""Largest message accepted (10 MiB). Real pacs.008/camt.053 are kilobytes; a big statement is
a few MiB. Configurable per reader."""

MAX_DEPTH = 256
"""Nesting limit enforced by libxml2 without XML_PARSE_HUGE; ISO messages in envelopes nest ~25."""

_UTF8_BOM = b"\xef\xbb\xbf"
_FOREIGN_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_local = threading.local()


def _parser() -> etree.XMLParser:
    # XMLParser objects are not thread-safe; one per thread, reused across messages.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def _check_encoding(data: bytes) -> bytes:
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if data.startswith(_FOREIGN_BOMS) or data[:1] == b"\x00" or data[1:2] == b"\x00":
        raise UnsafeXmlError("input is not UTF-8 (UTF-16/32 byte order mark or NUL bytes); "
                             "ISO 20022 messages must be UTF-8", "xml.encoding", 1, 1)
    declared = _DECLARED_ENCODING.match(data[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise UnsafeXmlError(f"declared encoding {declared.group(1).decode()!r} is not UTF-8",
                             "xml.encoding", 1, 1)
    return data


def _has_doctype(data: bytes) -> bool:
    """Whether the prolog (before the root element) declares a DOCTYPE.

    Checked before parsing: libxml2 would otherwise read the DTD, try to fetch external subsets
    and measure entity amplification before we could refuse it.
    """
    position, end = 0, len(data)
    while position < end:
        while position < end and data[position] in b" \t\r\n":
            position += 1
        if data.startswith(b"<?", position):
            close = data.find(b"?>", position)
        elif data.startswith(b"<!--", position):
            close = data.find(b"-->", position)
        else:
            return data[position:position + 9].upper() == b"<!DOCTYPE"
        if close < 0:
            return False
        position = close + 2
    return False


def _rule_of(message: str) -> str:
    if "Excessive depth" in message:
        return "xml.too-deep"
    if "encoding" in message.lower() or "Invalid bytes" in message:
        return "xml.encoding"
    if "Premature end" in message or "EndTag" in message or "expected '>'" in message:
        return "xml.truncated"
    return "xml.syntax"


def parse_untrusted(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse one message; return its root element or raise UnsafeXmlError saying why not."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"input is larger than the limit of {max_bytes:,} bytes",
                             "xml.too-large")
    if not data.strip():
        raise UnsafeXmlError("input is empty", "xml.empty")
    data = _check_encoding(data)
    if _has_doctype(data):
        # Refused even when harmless: DTDs are how entity bombs and XXE arrive.
        raise UnsafeXmlError("DOCTYPE/DTD is not allowed in ISO 20022 messages", "xml.dtd", 1, 1)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        message = str(exc.msg or exc)
        rule = _rule_of(message)
        if rule == "xml.too-deep":
            message = f"elements nest deeper than {MAX_DEPTH} levels"
        raise UnsafeXmlError(f"not well-formed XML: {message}", rule, line, column) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:  # a prolog the scan did not foresee
        raise UnsafeXmlError("DOCTYPE/DTD is not allowed in ISO 20022 messages", "xml.dtd", 1, 1)
    return root
