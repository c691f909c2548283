"""Namespace-agnostic navigation of an ISO 20022 Document.

Every version of a message has its own namespace; readers write paths with local names
("GrpHdr/MsgId") and this module qualifies them with the Document's namespace once.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from lxml import etree


@lru_cache(maxsize=4096)
def _qualified(ns: str, path: str) -> str:
    return "/".join(f"{{{ns}}}{step}" for step in path.split("/"))


class Node:
    """An element of one ISO namespace, with lookups by local-name paths.

    A reader asks a transaction for some 40 paths, most of them absent. Asking lxml for each
    (ElementPath, about 3 µs a path) cost more than the rest of the reading; instead the subtree
    is walked once, on the first lookup, into a map from local path to its first element, which
    nodes found under it share. Repeated siblings are walked only once (the first): a path
    through a repeated element that the map lacks is asked of lxml, so answers stay exactly
    lxml's, and a 100,000-entry statement is not mapped whole.
    """

    __slots__ = ("element", "ns", "_paths", "_prefix")

    def __init__(self, element: etree._Element, ns: str,
                 _paths: "_PathMap | None" = None, _prefix: str = "") -> None:
        self.element = element
        self.ns = ns
        self._paths = _paths
        self._prefix = _prefix

    @property
    def line(self) -> int | None:
        return self.element.sourceline

    def find(self, path: str) -> "Node | None":
        found, shared = self._lookup(path)
        if found is None:
            return None
        return Node(found, self.ns, self._paths, self._prefix + path + "/") if shared else Node(found, self.ns)

    def at_position(self, path: str) -> etree._Element | None:
        """The element at a path that numbers repeated elements from 1 (`CdtTrfTxInf[2]/Amt`,
        as business-rule findings name them), asked of lxml: the path map knows first ones only."""
        return self.element.find(_qualified(self.ns, path))

    def findall(self, path: str) -> Iterator["Node"]:
        """Every element at `path`, lazily: a 100,000-entry statement never holds 100,000
        nodes (and their path maps) at once."""
        first = self._paths.first.get(self._prefix + path) if self._paths is not None else None
        for element in self.element.iterfind(_qualified(self.ns, path)):
            if element is first:  # mapped already with this node's map: share it
                yield Node(element, self.ns, self._paths, self._prefix + path + "/")
            else:
                yield Node(element, self.ns)

    def text(self, path: str | None = None) -> str | None:
        """Stripped text of the element at `path` (or of this one); None when absent or empty."""
        element = self.element if path is None else self._lookup(path)[0]
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def first_text(self, *paths: str) -> str | None:
        """Text of the first of `paths` that is present: absorbs renamings across versions."""
        for path in paths:
            value = self.text(path)
            if value is not None:
                return value
        return None

    def attr(self, name: str) -> str | None:
        return self.element.get(name)

    def _lookup(self, path: str) -> tuple[etree._Element | None, bool]:
        """The first element at `path`, and whether it came from the shared map."""
        if self._paths is None:
            self._paths = _PathMap(self.element, self.ns)
        full = self._prefix + path
        found = self._paths.first.get(full)
        if found is not None or not self._paths.through_repeated(full):
            return found, True
        return self.element.find(_qualified(self.ns, path)), False


class _PathMap:
    """Local path (from the mapped element) -> first element there; and the paths where a
    sibling repeated, whose later subtrees were not walked."""

    __slots__ = ("first", "repeated")

    def __init__(self, element: etree._Element, ns: str) -> None:
        self.first: dict[str, etree._Element] = {}
        self.repeated: set[str] = set()
        self._walk(element, "", "{" + ns + "}")

    def _walk(self, element: etree._Element, prefix: str, opening: str) -> None:
        cut = len(opening)
        for child in element:
            tag = child.tag
            if not (isinstance(tag, str) and tag.startswith(opening)):
                continue  # comments, processing instructions, other namespaces: never asked for
            path = prefix + tag[cut:]
            if path in self.first:
                self.repeated.add(path)
                continue
            self.first[path] = child
            self._walk(child, path + "/", opening)

    def through_repeated(self, path: str) -> bool:
        return any(path.startswith(r + "/") for r in self.repeated)


def to_decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def to_date(text: str | None) -> date | None:
    """An ISODate, or the date part of an ISODateTime."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def to_datetime(text: str | None) -> datetime | None:
    """An ISODateTime (with or without offset, 'Z' accepted), or midnight of an ISODate."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
