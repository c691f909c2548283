"""Node's per-element child indexes read every message into the same domain objects as the
whole-subtree path map they replaced (kept below as the reference): every sample, and every
XSD-valid pacs.008, pacs.009 and camt.053 of the public corpus, Document and AppHdr."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bridge.iso import components, header, pacs008, reader
from bridge.iso.reader import MessageReader
from bridge.iso.xmlnav import _qualified
from conftest import CORPUS_ROOT
from reader_support import corpus_paths

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


class _ReferenceNode:
    """The former Node: the subtree walked once, on the first lookup, into a map from local
    path to its first element; paths through a repeated element the map lacks asked of lxml."""

    __slots__ = ("element", "ns", "_paths", "_prefix")

    def __init__(self, element, ns, _paths=None, _prefix=""):
        self.element, self.ns, self._paths, self._prefix = element, ns, _paths, _prefix

    @property
    def line(self):
        return self.element.sourceline

    def find(self, path):
        found, shared = self._lookup(path)
        if found is None:
            return None
        if shared:
            return _ReferenceNode(found, self.ns, self._paths, self._prefix + path + "/")
        return _ReferenceNode(found, self.ns)

    def at_position(self, path):
        return self.element.find(_qualified(self.ns, path))

    def findall(self, path):
        first = self._paths.first.get(self._prefix + path) if self._paths is not None else None
        for element in self.element.iterfind(_qualified(self.ns, path)):
            if element is first:
                yield _ReferenceNode(element, self.ns, self._paths, self._prefix + path + "/")
            else:
                yield _ReferenceNode(element, self.ns)

    def text(self, path=None):
        element = self.element if path is None else self._lookup(path)[0]
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def first_text(self, *paths):
        for path in paths:
            value = self.text(path)
            if value is not None:
                return value
        return None

    def attr(self, name):
        return self.element.get(name)

    def _lookup(self, path):
        if self._paths is None:
            self._paths = _ReferencePathMap(self.element, self.ns)
        full = self._prefix + path
        found = self._paths.first.get(full)
        if found is not None or not any(full.startswith(r + "/") for r in self._paths.repeated):
            return found, True
        return self.element.find(_qualified(self.ns, path)), False


class _ReferencePathMap:
    def __init__(self, element, ns):
        self.first, self.repeated = {}, set()
        self._walk(element, "", "{" + ns + "}")

    def _walk(self, element, prefix, opening):
        for child in element:
            tag = child.tag
            if not (isinstance(tag, str) and tag.startswith(opening)):
                continue
            path = prefix + tag[len(opening):]
            if path in self.first:
                self.repeated.add(path)
                continue
            self.first[path] = child
            self._walk(child, path + "/", opening)


def _read(data: bytes) -> tuple:
    message = MessageReader().read(data)
    return (message.envelope, message.message_type, message.header, message.payload,
            message.document_valid, message.header_valid, message.findings, message.message_id,
            message.created_at_text, message.sender)


def _reads_as_the_reference(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    indexed = _read(data)
    with monkeypatch.context() as patch:  # every Node a reader makes starts from one of these
        for module in (components, header, pacs008, reader):
            patch.setattr(module, "Node", _ReferenceNode)
        expected = _read(data)
    assert indexed == expected


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.xml")), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_sample_reads_as_with_the_path_map(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _reads_as_the_reference(path, monkeypatch)


@pytest.mark.corpus
@pytest.mark.slow  # corpus-wide
@pytest.mark.parametrize("local_path", corpus_paths("pacs.008") + corpus_paths("pacs.009")
                         + corpus_paths("camt.053") or [None])
def test_every_valid_corpus_message_reads_as_with_the_path_map(local_path, monkeypatch) -> None:
    if local_path is None:
        pytest.skip(f"no corpus: {CORPUS_ROOT / 'corpus'} or its VALIDATION.tsv is absent")
    _reads_as_the_reference(CORPUS_ROOT / local_path, monkeypatch)


def test_a_path_through_a_repeated_element_reads_as_with_the_path_map() -> None:
    """The first <A> lacks <B>: both answer with the second's, as lxml does."""
    from bridge.iso.xmlnav import Node
    ns = "urn:test"
    element = etree.fromstring(f'<R xmlns="{ns}"><A><C>1</C></A><A><B>2</B></A><!-- c --><A><B>3</B></A></R>')
    for node in (Node(element, ns), _ReferenceNode(element, ns)):
        assert node.text("A/B") == "2" and node.text("A/C") == "1" and node.text("A/D") is None
        assert [n.text("B") for n in node.findall("A")] == [None, "2", "3"]
        assert [n.text() for n in node.findall("A/B")] == ["2", "3"]
        assert node.find("X") is None and list(node.findall("X/Y")) == []
