"""Node's path map answers exactly as lxml's ElementPath would, on every path of every sample
and corpus document, including paths through repeated elements."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bridge.iso.xmlnav import Node, _qualified

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _local_paths(element: etree._Element, ns: str, prefix: str = "") -> set[str]:
    paths = set()
    for child in element:
        if isinstance(child.tag, str) and child.tag.startswith("{" + ns + "}"):
            path = prefix + etree.QName(child).localname
            paths.add(path)
            paths |= _local_paths(child, ns, path + "/")
    return paths


def _agrees(element: etree._Element, ns: str) -> None:
    node = Node(element, ns)
    paths = _local_paths(element, ns)
    for path in sorted(paths) + ["Nothing/Here"]:
        expected = element.find(_qualified(ns, path))
        found = node.find(path)
        assert (found.element if found else None) is expected, path
        assert node.text(path) == (expected.text.strip() or None if expected is not None and expected.text else None)
        if found is not None:  # a node found through the map answers for its own subtree
            for sub in sorted(p[len(path) + 1:] for p in paths if p.startswith(path + "/"))[:20]:
                got = found.find(sub)
                assert (got.element if got else None) is expected.find(_qualified(ns, sub)), (path, sub)
        for each in list(node.findall(path))[:3]:  # shared or fresh, each answers for itself
            for sub in sorted(p[len(path) + 1:] for p in paths if p.startswith(path + "/"))[:10]:
                got = each.find(sub)
                assert (got.element if got else None) is each.element.find(_qualified(ns, sub)), (path, sub)


def test_a_path_through_a_repeated_element_is_answered_as_lxml_does() -> None:
    """The first <A> lacks <B>; lxml finds the second's. So does the map."""
    ns = "urn:test"
    element = etree.fromstring(f'<R xmlns="{ns}"><A><C>1</C></A><A><B>2</B></A><A><B>3</B></A></R>')
    node = Node(element, ns)
    assert node.text("A/B") == "2"
    assert node.text("A/C") == "1" and node.text("A/D") is None
    assert [n.text("B") for n in node.findall("A")] == [None, "2", "3"]
    _agrees(element, ns)


def _documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.xml"))


@pytest.mark.parametrize("path", _documents(SAMPLES), ids=lambda p: p.name)
def test_samples(path: Path) -> None:
    document = etree.parse(str(path)).getroot()
    for element in document.iter():
        if isinstance(element.tag, str) and element.tag.endswith("}Document"):
            _agrees(element, etree.QName(element).namespace)


@pytest.mark.slow  # corpus-wide
def test_corpus(corpus_root) -> None:
    checked = 0
    for path in _documents(corpus_root / "corpus"):
        try:
            document = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue  # the corpus holds some broken files on purpose
        for element in document.iter():
            if isinstance(element.tag, str) and element.tag.endswith("}Document"):
                _agrees(element, etree.QName(element).namespace)
                checked += 1
    assert checked > 100
