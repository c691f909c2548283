"""What the reconciliation tests share: a manual clock inside the statements' day, a store and
pipeline that use it, and short ways to read outcomes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from fakes import InMemoryStore

from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.outcomes import MessageOutcome

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
ERIK = "DE28500199000385091644"
DANA = "KW03TOKN0000000000000045301187"
FATIMA, GEORGE, HANNA = "FR7630004008280001058392658", "GB52BARC20325373491826", "PL09102010260000180294731256"
EUR_OMNIBUS = "DE56500199000990000018"


class ManualClock:
    """Readings one second apart from 09:00 UTC on the samples' day (2026-11-24)."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def clocked(store: SqlStore | InMemoryStore, clock: ManualClock) -> SqlStore | InMemoryStore:
    """The same database (or in-memory books), with a ledger and store that read `clock`."""
    if isinstance(store, InMemoryStore):
        return store.with_clock(clock)
    return SqlStore(store.engine, SqlLedgerPlugin(clock=clock), clock)


def pipeline(store: SqlStore, clock: ManualClock, **config) -> MessageBus:
    return MessageBus(MessageReader(), store, BridgeConfig(**config), is_transient=store.is_transient,
                    clock=clock)


def report(outcome: MessageOutcome) -> dict:
    assert outcome.reply is not None and outcome.reply.message_type == "report.reconciliation", outcome.summary
    assert outcome.reply.content_type == "application/json"
    return json.loads(outcome.reply.body)


def categories(found: dict) -> list[str]:
    return sorted(b["category"] for b in found["breaks"])


def statuses(found: dict) -> list[str]:
    return [e["status"] for s in found["statements"] for e in s["entries"]]


def supply(store: SqlStore) -> dict[str, int]:
    with store() as uow:
        return uow.ledger.supply()


def balances(store: SqlStore) -> dict[str, int]:
    with store() as uow:
        return {b.wallet: b.balance for b in uow.ledger.balances() if b.balance}
