"""Building ISO 20022 XML with lxml: every writer's elements live in one message namespace."""
from __future__ import annotations

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
