"""Building ISO 20022 XML: with lxml, every writer's elements in one message namespace; or as text
(`xml_text`, `leaf`) where a message is written on the hot path."""
from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX

ChildAdder = Callable[..., etree._Element]


def child(parent: etree._Element, namespace: str, name: str, text: str | None = None) -> etree._Element:
    """Append `<name>text</name>` in `namespace` to `parent` and return it."""
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    element.text = text
    return element


def new_document(message_type: str) -> tuple[etree._Element, ChildAdder]:
    """An empty `Document` in the namespace of `message_type` (`pacs.002.001.10`), and
    `add(parent, name, text=None)` that appends children in that namespace."""
    namespace = ISO_NAMESPACE_PREFIX + message_type
    document = etree.Element(f"{{{namespace}}}Document", nsmap={None: namespace})

    def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        # `child` inlined: writers add dozens of elements per message
        element = etree.SubElement(parent, f"{{{namespace}}}{name}")
        element.text = text
        return element
    return document, add


# Writing text directly (a hot reply, bridge.iso.pacs002) instead of an element tree: the same
# bytes lxml would serialise, for far less work per element.
_NOT_PLAIN = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def xml_text(value: str) -> str:
    """`value` as XML character data, escaped as lxml serialises a text (`&`, `<`, `>`, and a
    carriage return as `&#13;`). Raises ValueError, as lxml does, for what XML 1.0 cannot
    hold. Most values (references, codes, BICs) need nothing: one scan tells."""
    if _NOT_PLAIN.search(value) is None:
        return value
    if _NOT_XML.search(value) is not None:
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or "
                         "control characters")
    return value.translate(_ESCAPES)


def leaf(name: str, text: str | None) -> str:
    """`<name>text</name>` as text (`<name/>` for None, as lxml writes an element without text)."""
    return f"<{name}/>" if text is None else f"<{name}>{xml_text(text)}</{name}>"
