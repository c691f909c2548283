"""The bus's generic path without I/O: an inbox claim that vanished (its unit rolled back in
between) is transient, retried by the bus and, past its attempts, by the worker; never
dead-lettered as poison."""
from __future__ import annotations

import pytest

import bridge.bus
from bridge.bus import TRANSIENT_RETRIES, InboxClaimVanished, MessageBus
from bridge.iso.reader import MessageReader
from bridge.messages import InboundRecord, OutboundMessage
from bridge.ports import Inbox, Outbox, UnitOfWork


class VanishingInbox(Inbox):
    """Refuses the first `vanishing` claims without holding a record of them, as when the unit
    that claimed rolls back between our claim and our look-up; then claims as usual."""

    def __init__(self, vanishing: int) -> None:
        self.vanishing = vanishing
        self.records: dict[str, InboundRecord] = {}

    def claim(self, digest: str) -> bool:
        if self.vanishing:
            self.vanishing -= 1
            return False
        return digest not in self.records

    def record(self, record: InboundRecord) -> None:
        self.records[record.digest] = record

    def find(self, digest: str) -> InboundRecord | None:
        return None if self.vanishing or digest not in self.records else self.records[digest]

    def by_message_id(self, message_id: str) -> list[InboundRecord]:
        return [r for r in self.records.values() if r.message_id == message_id]


class ListOutbox(Outbox):
    def __init__(self) -> None:
        self.messages: dict[str, OutboundMessage] = {}

    def add(self, message: OutboundMessage) -> None:
        self.messages[message.message_id] = message

    def get(self, message_id: str) -> OutboundMessage | None:
        return self.messages.get(message_id)

    def pending(self, limit=100, created_before=None) -> list[OutboundMessage]:
        return list(self.messages.values())[:limit]

    def backlog(self) -> int:
        return len(self.messages)

    def mark_published(self, message_ids) -> None:
        for message_id in message_ids:
            self.messages.pop(message_id, None)

    def correlated(self, correlation_id: str):
        return []


class InboxOnly(UnitOfWork):
    """A unit of work over an inbox and an outbox (a message no handler takes needs no more)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.outbox = inbox, ListOutbox()
        self.ledger = None  # nothing here applies an operation (the bus still wraps it, to notify)
        self.commits = 0

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch) -> None:
    monkeypatch.setattr(bridge.bus.time, "sleep", lambda _: None)


def test_a_vanished_inbox_claim_is_transient_whatever_the_store_says() -> None:
    bus = MessageBus(MessageReader(), lambda: InboxOnly(VanishingInbox(0)), is_transient=lambda _: False)
    assert bus.is_transient(InboxClaimVanished("gone"))
    assert not bus.is_transient(RuntimeError("a bug"))


def test_the_bus_retries_a_vanished_claim_and_the_message_is_then_handled() -> None:
    uow = InboxOnly(VanishingInbox(2))
    outcome = MessageBus(MessageReader(), lambda: uow).handle(b"<not-iso/>")
    assert outcome.verdict == "refused" and not outcome.seen_before
    assert uow.commits == 1 and list(uow.inbox.records) == [outcome.digest]


def test_a_claim_that_keeps_vanishing_goes_to_the_caller_as_transient() -> None:
    bus = MessageBus(MessageReader(), lambda: InboxOnly(VanishingInbox(TRANSIENT_RETRIES)))
    with pytest.raises(InboxClaimVanished):
        bus.handle(b"<not-iso/>")
    [result] = bus.handle_batch([b"<not-iso/>"])
    assert isinstance(result, InboxClaimVanished) and bus.is_transient(result)  # the worker retries it


class Emitting:
    """A handler that answers and sends two more messages, as a cancellation or a return does."""

    def prepare(self, uow, messages) -> None:
        pass

    def handle(self, message, uow, *, dry_run: bool):
        from bridge.outcomes import MessageOutcome

        def sent(n: int, kind: str) -> OutboundMessage:
            return OutboundMessage(f"{message.digest[:8]}-{n}", "ORIG", kind, b"<x/>")
        return MessageOutcome(message.digest, "accepted", message.read.message_type, "ORIG",
                              reply=sent(1, "pacs.002.001.10"),
                              emitted=(sent(2, "camt.054.001.08"), sent(3, "pacs.004.001.09")))


def test_what_a_message_emits_is_queued_after_its_reply_once() -> None:
    from pathlib import Path
    raw = next((Path(__file__).parents[1] / "samples" / "pacs008").glob("*.xml")).read_bytes()
    uow = InboxOnly(VanishingInbox(0))
    bus = MessageBus(MessageReader(), lambda: uow, handlers={"pacs.008": Emitting()})
    first = bus.handle(raw)
    assert [m.message_type for m in uow.outbox.messages.values()] == [
        "pacs.002.001.10", "camt.054.001.08", "pacs.004.001.09"]
    again = bus.handle(raw)  # the same bytes: answered from the inbox, nothing sent again
    assert again.seen_before and again.emitted == () and again.reply.message_id == first.reply.message_id
    assert len(uow.outbox.messages) == 3
