"""The audit trail: every inbox record and every ledger operation is a link in one hash chain,
so that no row can be edited, deleted or slipped in without `audit verify` finding it.

link hash = SHA-256(previous link hash | entity | reference | SHA-256(canonical content))
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
INBOX, OPERATION = "inbox", "operation"


def content_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of a row's fields in a canonical JSON form (sorted keys, bytes as their SHA-256,
    everything else as text), so the same content always hashes the same on any database."""
    def canonical(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        return str(value)
    text = json.dumps({k: canonical(v) for k, v in fields.items()}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(previous: str, entity: str, reference: str, entry: str) -> str:
    return hashlib.sha256(f"{previous}|{entity}|{reference}|{entry}".encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    sequence: int
    entity: str  # inbox or operation
    reference: str  # the inbox digest or the idempotency key
    entry_hash: str
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    sequence: int | None
    entity: str
    reference: str
    problem: str

    def __str__(self) -> str:
        at = f"link {self.sequence}" if self.sequence is not None else "outside the chain"
        return f"{at} ({self.entity} {self.reference}): {self.problem}"


def verify_chain(links: Iterable[Link], current: Callable[[str, str], Mapping[str, Any] | None],
                 head: str, recorded: Mapping[str, set[str]]) -> list[BrokenLink]:
    """Check every link against its predecessor, and the row each reference certifies, as it is
    now (`current(entity, reference)`), against that reference's latest link (a row that
    legitimately changes, such as a status, gets a new link). Then check that `head` is the last
    link and that every row in `recorded` (entity -> references in the store) has a link.
    Breaks come in chain order: the first is the first broken link."""
    breaks: list[BrokenLink] = []
    previous = GENESIS
    latest: dict[tuple[str, str], Link] = {}
    for link in links:
        where = (link.sequence, link.entity, link.reference)
        if link.previous_hash != previous:
            breaks.append(BrokenLink(*where, "does not follow the previous link (a link was "
                                             "removed, inserted or reordered)"))
        if link_hash(link.previous_hash, link.entity, link.reference, link.entry_hash) != link.hash:
            breaks.append(BrokenLink(*where, "the link's own hash does not match (the chain row was edited)"))
        latest[(link.entity, link.reference)] = link
        previous = link.hash
    for (entity, reference), link in sorted(latest.items(), key=lambda item: item[1].sequence):
        row = current(entity, reference)
        if row is None:
            breaks.append(BrokenLink(link.sequence, entity, reference, "the row it certifies is gone"))
        elif content_hash(row) != link.entry_hash:
            breaks.append(BrokenLink(link.sequence, entity, reference, "the row it certifies was changed"))
    breaks.sort(key=lambda b: b.sequence)
    linked: dict[str, set[str]] = {}
    for entity, reference in latest:
        linked.setdefault(entity, set()).add(reference)
    if previous != head:
        breaks.append(BrokenLink(None, "chain", "head", "the chain's head does not match its last "
                                                         "link (links were cut off the end)"))
    for entity, references in recorded.items():
        for reference in sorted(references - linked.get(entity, set())):
            breaks.append(BrokenLink(None, entity, reference, "row has no link: it was slipped in"))
    return breaks
