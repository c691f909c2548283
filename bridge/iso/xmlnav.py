"""Namespace-agnostic navigation of an ISO 20022 Document.

Every version of a message has its own namespace; readers write paths with local names
("GrpHdr/MsgId") and this module qualifies them with the Document's namespace once.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from lxml import etree


@lru_cache(maxsize=4096)
def _qualified(ns: str, path: str) -> str:
    return "/".join(f"{{{ns}}}{step}" for step in path.split("/"))


class Node:
    """An element of one ISO namespace, with lookups by local-name paths."""

    __slots__ = ("element", "ns")

    def __init__(self, element: etree._Element, ns: str) -> None:
        self.element = element
        self.ns = ns

    @property
    def line(self) -> int | None:
        return self.element.sourceline

    def find(self, path: str) -> "Node | None":
        found = self.element.find(_qualified(self.ns, path))
        return None if found is None else Node(found, self.ns)

    def findall(self, path: str) -> list["Node"]:
        return [Node(e, self.ns) for e in self.element.iterfind(_qualified(self.ns, path))]

    def text(self, path: str | None = None) -> str | None:
        """Stripped text of the element at `path` (or of this one); None when absent or empty."""
        element = self.element if path is None else self.element.find(_qualified(self.ns, path))
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
