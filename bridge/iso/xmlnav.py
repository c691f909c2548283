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
    (ElementPath, about 3 µs a path) cost more than the rest of the reading; instead each element
    a lookup passes through has its children indexed once (local name -> first child), and
    nodes found under it share those indexes: an absent path costs one dictionary miss, and a
    subtree nobody asks about is never visited. A path through a repeated element whose first
    occurrence lacks the rest is asked of lxml, so answers stay exactly lxml's.
    """

    __slots__ = ("element", "ns", "_children")

    def __init__(self, element: etree._Element, ns: str, _children: "_Children | None" = None) -> None:
        self.element = element
        self.ns = ns
        self._children = _children

    @property
    def line(self) -> int | None:
        return self.element.sourceline

    def find(self, path: str) -> "Node | None":
        found = self._lookup(path)
        return None if found is None else Node(found, self.ns, self._children)

    def at_position(self, path: str) -> etree._Element | None:
        """The element at a path that numbers repeated elements from 1 (`CdtTrfTxInf[2]/Amt`,
        as business-rule findings name them), asked of lxml: the indexes know first ones only."""
        return self.element.find(_qualified(self.ns, path))

    def findall(self, path: str) -> Iterator["Node"]:
        """Every element at `path`, lazily: a 100,000-entry statement never holds 100,000
        nodes (and their indexes) at once."""
        children = self._index()
        step, _, rest = path.partition("/")
        first, repeated = children.of(self.element)
        only = first.get(step)
        if only is None:
            return  # no child of that name: nothing below it either
        if not rest and step not in repeated:
            yield Node(only, self.ns, children)
            return
        for element in self.element.iterfind(_qualified(self.ns, path)):
            yield Node(element, self.ns)

    def text(self, path: str | None = None) -> str | None:
        """Stripped text of the element at `path` (or of this one); None when absent or empty."""
        return text_of(self.element if path is None else self._lookup(path))

    def first_text(self, *paths: str) -> str | None:
        """Text of the first of `paths` that is present: absorbs renamings across versions."""
        for path in paths:
            value = self.text(path)
            if value is not None:
                return value
        return None

    def attr(self, name: str) -> str | None:
        return self.element.get(name)

    def _index(self) -> "_Children":
        if self._children is None:
            self._children = _Children(self.ns)
        return self._children

    def _lookup(self, path: str) -> etree._Element | None:
        """The first element at `path`, as lxml's `find` answers."""
        children = self._children or self._index()
        indexed = children.indexed
        element = self.element
        through_repeated = False
        for step in path.split("/"):
            first, repeated = indexed.get(element) or children.index(element)
            element = first.get(step)
            if element is None:
                # The first of a repeated element lacks the rest: a later one may have it.
                return self.element.find(_qualified(self.ns, path)) if through_repeated else None
            if repeated and step in repeated:
                through_repeated = True
        return element


_NONE: frozenset[str] = frozenset()


class _Children:
    """The children of the elements looked through, each indexed once: local name -> first
    child of this namespace, and the names that repeat."""

    __slots__ = ("_opening", "indexed")

    def __init__(self, ns: str) -> None:
        self._opening = "{" + ns + "}"
        self.indexed: dict[etree._Element, tuple[dict[str, etree._Element], set[str] | frozenset[str]]] = {}

    def of(self, element: etree._Element) -> tuple[dict[str, etree._Element], set[str] | frozenset[str]]:
        """`element`'s index: local name -> first child, and the names that repeat."""
        return self.indexed.get(element) or self.index(element)

    def index(self, element: etree._Element) -> tuple[dict[str, etree._Element], set[str] | frozenset[str]]:
        opening, cut = self._opening, len(self._opening)
        first: dict[str, etree._Element] = {}
        repeated: set[str] | frozenset[str] = _NONE
        for child in element:
            tag = child.tag
            # comments, processing instructions, other namespaces: never asked for
            if tag.__class__ is str and tag.startswith(opening):
                name = tag[cut:]
                if name not in first:
                    first[name] = child
                elif repeated:
                    repeated.add(name)
                else:
                    repeated = {name}
        found = self.indexed[element] = (first, repeated)
        return found


def text_of(element: etree._Element | None) -> str | None:
    """Stripped text of `element`; None when absent or empty (what every reader reads)."""
    if element is None:
        return None
    text = element.text
    return None if text is None else text.strip() or None


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
