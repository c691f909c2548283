"""An inbound message as the bus hands it to the handler of its family, and what a handler
offers the bus (`Handler`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bridge.iso.reader import ReadMessage
from bridge.outcomes import MessageOutcome
from bridge.ports import UnitOfWork


@dataclass(slots=True)
class Inbound:
    """One received message: its bytes, their SHA-256 (the inbox key) and what the reader made
    of them."""

    raw: bytes
    digest: str
    read: ReadMessage
    prepared: object = None  # what the handler's `prepare` made of it, for its `handle`; batch only


class Handler(Protocol):
    """The use case of one message family (pacs.008, camt.053, ...), registered in
    bridge.handlers. The bus claims the message in the inbox, calls `handle` in a unit of work,
    then records the outcome and queues its reply: a handler only decides and applies."""

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Before a batch's messages of this family are handled in `uow`: work done once for all
        of them (e.g. telling the ledger what they will touch), kept in `Inbound.prepared`."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        """The message's effects in `uow` and its outcome, its reply included (none of its
        effects with `dry_run`: the outcome says what it would do)."""
