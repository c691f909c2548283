"""Finding the ISO `Document` and `AppHdr` wherever real traffic puts them.

A bare Document; AppHdr + Document under SWIFT's `urn:swift:xsd:envelope`, SWIFTNet
`Request/RequestPayload`, FedNow/Fedwire wrappers, a no-namespace `<message>`, ...: the parts are
found by namespace, never by the wrapper's name. The message type comes from the Document's
namespace only; the header's MsgDefIdr is recorded, not trusted.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from lxml import etree

from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX, message_type_of

HEADER_NAMESPACE_PREFIX = ISO_NAMESPACE_PREFIX + "head.001."


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of one input: where the Document and header sit, and what wraps them."""

    description: str  # "bare Document", "Envelope (urn:swift:xsd:envelope)", "message (no namespace)"
    document: etree._Element | None
    header: etree._Element | None  # an AppHdr, ISO or not

    @property
    def document_namespace(self) -> str | None:
        return etree.QName(self.document).namespace if self.document is not None else None

    @property
    def message_type(self) -> str | None:
        """`pacs.008.001.08` etc., from the Document's namespace; None without an ISO Document."""
        return message_type_of(self.document_namespace)

    @property
    def header_is_iso(self) -> bool:
        return self.header is not None and (
            etree.QName(self.header).namespace or "").startswith(HEADER_NAMESPACE_PREFIX)


class EnvelopeError(ValueError):
    """The input holds no ISO Document, or more than one."""

    def __init__(self, message: str, rule: str, envelope: str, line: int | None = None):
        super().__init__(message)
        self.rule = rule
        self.envelope = envelope
        self.line = line


def _describe(root: etree._Element) -> str:
    qname = etree.QName(root)
    return f"{qname.localname} ({qname.namespace or 'no namespace'})"


def _is_iso_document(element: etree._Element) -> bool:
    qname = etree.QName(element)
    return qname.localname == "Document" and (qname.namespace or "").startswith(ISO_NAMESPACE_PREFIX)


def unwrap(root: etree._Element) -> Envelope:
    """Locate the Document and AppHdr under `root`; raise EnvelopeError when there is no Document."""
    if _is_iso_document(root):
        return Envelope("bare Document", root, None)
    description = _describe(root)
    documents: list[etree._Element] = []
    header: etree._Element | None = None
    # Breadth-first over the wrapper only: never descend into a Document or an AppHdr.
    queue = deque(child for child in root if isinstance(child.tag, str))
    while queue:
        element = queue.popleft()
        if _is_iso_document(element):
            documents.append(element)
            continue
        if etree.QName(element).localname == "AppHdr":
            header = header if header is not None else element
            continue
        queue.extend(child for child in element if isinstance(child.tag, str))
    if not documents:
        raise EnvelopeError("no ISO 20022 Document element found "
                            f"(root is {description})", "iso.no-document", description,
                            root.sourceline)
    if len(documents) > 1:
        raise EnvelopeError(f"{len(documents)} ISO Documents in one input; one message per input",
                            "iso.multiple-documents", description, documents[1].sourceline)
    return Envelope(description, documents[0], header)
