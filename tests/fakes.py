"""An in-memory unit of work: a fake of the ports in bridge.ports (registry, ledger, inbox,
outbox), so that the core's logic is tested without a database.

It keeps the ledger's rules as the contract states them (tests/ledger_contract.py runs against
it, as against the SQL and EVM adapters): keys unique, a replay without effect, another content
under a used key AM05, no debit beyond the balance AM04, no supply beyond LEDGER_MAX_UNITS AM02,
a payment's references claimed by its first mint, a conflicting road AM05.

Each unit of work works on a copy of the committed books and commits by copying it back. Units
commit one after the other, as a serializable database lets them: a unit that wrote anything
fails on commit, transiently (`InMemoryStore.is_transient`), when another unit committed since
it began; its retry starts from what is committed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from bridge.accounts import RegisteredAccount
from bridge.messages import InboundRecord, OutboundMessage, SentMessage
from bridge.codes import Reason
from bridge.money import LEDGER_MAX_UNITS
from bridge.operations import TokenOperation
from bridge.parties import normalised_account
from bridge.ports import (APPLIED, REPLAYED, AccountRegistry, Inbox, Ledger, LedgerOutcome,
                          MintClaim, Outbox, PaymentClaim, PaymentReturns, Posting, RecordedOperation,
                          ReturnEntry, UnitOfWork, WalletBalance, claims_conflict, issuance_holder)

DUPLICATE = Reason.DUPLICATION
INSUFFICIENT = Reason.INSUFFICIENT_FUNDS
ISSUANCE_PREFIX = "issuance:"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime) -> datetime:
    """Times as instants: a naive time is UTC (as the SQL store reads it)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class ChangedMeanwhile(RuntimeError):
    """Another unit of work committed after this one began: this one's decisions may rest on
    what changed, so it is retried (a serialization failure, as a database reports it)."""


@dataclass
class _Queued:
    """An outbox row: the message, when it was queued, whether the broker confirmed it."""

    message: OutboundMessage
    created_at: datetime
    published: bool = False


@dataclass
class Books:
    """Everything a store holds. A unit of work changes a copy (`copy`)."""

    version: int = 0
    accounts: dict[str, RegisteredAccount] = field(default_factory=dict)
    operations: dict[str, RecordedOperation] = field(default_factory=dict)
    postings: list[Posting] = field(default_factory=list)
    balances: dict[tuple[str, str], int] = field(default_factory=dict)  # a row from a wallet's first credit
    claims: dict[str, PaymentClaim] = field(default_factory=dict)
    inbox: dict[str, InboundRecord | None] = field(default_factory=dict)  # None: claimed, not recorded
    outbox: dict[str, _Queued] = field(default_factory=dict)  # in the order queued
    written: bool = False  # by the unit of work that holds this copy
    returned: dict[str, int] = field(default_factory=dict)  # original key -> minor units returned
    return_entries: dict[str, ReturnEntry] = field(default_factory=dict)  # by return key, in order

    def copy(self) -> "Books":
        return Books(self.version, dict(self.accounts), dict(self.operations), list(self.postings),
                     dict(self.balances), dict(self.claims), dict(self.inbox),
                     {k: replace(v) for k, v in self.outbox.items()}, False,
                     dict(self.returned), dict(self.return_entries))

    def supply_of(self, currency: str) -> int:
        return -self.balances.get((issuance_holder(currency), currency), 0)


class InMemoryAccountRegistry(AccountRegistry):
    def __init__(self, books: Books) -> None:
        self.books = books

    def get(self, account: str) -> RegisteredAccount | None:
        return self.books.accounts.get(normalised_account(account))  # stored normalised

    def upsert(self, accounts: Iterable[RegisteredAccount]) -> int:
        rows = list(accounts)
        self.books.accounts.update({a.account: a for a in rows})
        self.books.written = True
        return len(rows)

    def all(self) -> list[RegisteredAccount]:
        by_kind_desc = sorted(self.books.accounts.values(), key=lambda a: (a.currency, a.account))
        return sorted(by_kind_desc, key=lambda a: a.kind, reverse=True)


class InMemoryLedger(Ledger):
    """The Ledger port over a dict: wallet balances, and an issuance holder per currency whose
    balance is minus the supply (double entry, as the SQL ledger books it)."""

    name = "memory"

    def __init__(self, books: Books, clock: Clock) -> None:
        self.books = books
        self.clock = clock

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        known = self.books.operations.get(operation.key)
        if known is not None:
            if known.operation.fingerprint == operation.fingerprint:
                return LedgerOutcome(REPLAYED, status=known.status)
            return LedgerOutcome.rejected(DUPLICATE, f"idempotency key {operation.key} was "
                                                     "already used for a different payment")
        held = self._conflict(claim) if claim is not None else None
        if held is not None:
            return LedgerOutcome.rejected(DUPLICATE, f"this payment (reference {held.reference}) "
                                                     f"was already minted under {held.operation_key}")
        currency, amount = operation.currency, operation.amount
        if operation.debit_wallet:
            if self.books.balances.get((operation.debit_wallet, currency), 0) < amount:
                return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} holds "
                                                            f"less than the amount")
        elif self.books.supply_of(currency) > LEDGER_MAX_UNITS - amount:
            return LedgerOutcome.rejected(Reason.NOT_ALLOWED_AMOUNT, f"the {currency} supply would pass the "
                                                              f"ledger's maximum ({LEDGER_MAX_UNITS})")
        self._book(operation)
        if claim is not None:
            for reference in dict.fromkeys(claim.references):
                self.books.claims.setdefault(reference, PaymentClaim(reference, operation.key, claim.road))
        return LedgerOutcome(APPLIED)

    def _conflict(self, claim: MintClaim) -> PaymentClaim | None:
        return next((held for held in self.find_claims(claim.references)
                     if claims_conflict(claim.road, held.road)), None)

    def _book(self, operation: TokenOperation) -> None:
        """The operation and its two postings; the balances they move."""
        self.books.written = True
        now = aware(self.clock())
        sequence = len(self.books.operations) + 1
        self.books.operations[operation.key] = RecordedOperation(
            TokenOperation(operation.key, operation.kind, operation.currency, operation.amount,
                           operation.debit_wallet, operation.credit_wallet, operation.refs),
            sequence, now)
        currency, amount = operation.currency, operation.amount
        debit = operation.debit_wallet or issuance_holder(currency)
        credit = operation.credit_wallet or issuance_holder(currency)
        for holder, counterparty, signed in ((debit, credit, -amount), (credit, debit, amount)):
            self.books.postings.append(Posting(len(self.books.postings) + 1, operation.key, operation.kind,
                                               holder, counterparty, currency, signed, now, operation.refs))
            self.books.balances[holder, currency] = self.books.balances.get((holder, currency), 0) + signed

    def find(self, key: str) -> RecordedOperation | None:
        return self.books.operations.get(key)

    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        return [held for reference in dict.fromkeys(references)
                if (held := self.books.claims.get(reference)) is not None]

    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        if as_of is None:
            rows = self.books.balances.items()
        else:
            totals: dict[tuple[str, str], int] = {}
            for p in self._postings(end=as_of):
                totals[p.holder, p.currency] = totals.get((p.holder, p.currency), 0) + p.amount
            rows = totals.items()
        return [WalletBalance(wallet, currency, balance)
                for (wallet, currency), balance in sorted(rows, key=lambda row: (row[0][1], row[0][0]))
                if not wallet.startswith(ISSUANCE_PREFIX)]

    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        issued: dict[str, int] = {}
        for p in self._postings(end=as_of):
            if p.holder.startswith(ISSUANCE_PREFIX):
                issued[p.currency] = issued.get(p.currency, 0) - p.amount
        return dict(sorted(issued.items()))

    def journal(self, *, wallet: str | None = None, currency: str | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        return [p for p in self._postings(start, end)
                if (p.holder == wallet if wallet is not None else not p.holder.startswith(ISSUANCE_PREFIX))
                and (currency is None or p.currency == currency)]

    def _postings(self, start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        """Postings with start <= posted_at < end, in the order booked."""
        return [p for p in self.books.postings
                if (start is None or p.posted_at >= aware(start)) and (end is None or p.posted_at < aware(end))]


class InMemoryInbox(Inbox):
    def __init__(self, books: Books) -> None:
        self.books = books

    def claim(self, digest: str) -> bool:
        if digest in self.books.inbox:
            return False
        self.books.inbox[digest] = None
        self.books.written = True
        return True

    def record(self, record: InboundRecord) -> None:
        # As the SQL inbox keeps them: ids cut to their ISO lengths, times as instants.
        self.books.written = True
        self.books.inbox[record.digest] = replace(
            record, received_at=aware(record.received_at),
            message_id=(record.message_id or "")[:35] or None,
            business_message_id=(record.business_message_id or "")[:35] or None,
            sender=(record.sender or "")[:11] or None)

    def find(self, digest: str) -> InboundRecord | None:
        return self.books.inbox.get(digest)

    def by_message_id(self, message_id: str) -> list[InboundRecord]:
        found = [r for r in self.books.inbox.values() if r is not None and r.message_id == message_id[:35]]
        return sorted(found, key=lambda r: r.received_at, reverse=True)


class InMemoryOutbox(Outbox):
    def __init__(self, books: Books, clock: Clock) -> None:
        self.books = books
        self.clock = clock

    def add(self, message: OutboundMessage) -> None:
        self.books.written = True
        kept = replace(message, correlation_id=(message.correlation_id or "")[:35] or None)
        self.books.outbox[message.message_id] = _Queued(kept, aware(self.clock()))

    def get(self, message_id: str) -> OutboundMessage | None:
        queued = self.books.outbox.get(message_id)
        return None if queued is None else queued.message

    def pending(self, limit: int = 100, created_before: datetime | None = None) -> list[OutboundMessage]:
        waiting = [q.message for q in self.books.outbox.values() if not q.published
                   and (created_before is None or q.created_at < aware(created_before))]
        return waiting[:limit]

    def backlog(self) -> int:
        return sum(not q.published for q in self.books.outbox.values())

    def mark_published(self, message_ids: Iterable[str]) -> None:
        self.books.written = True
        for message_id in message_ids:
            if message_id in self.books.outbox:
                self.books.outbox[message_id].published = True

    def correlated(self, correlation_id: str) -> list[SentMessage]:
        return [SentMessage(q.message, q.created_at, q.published) for q in self.books.outbox.values()
                if q.message.correlation_id == correlation_id[:35]]


class InMemoryReturns(PaymentReturns):
    def __init__(self, books: Books, clock: Clock) -> None:
        self.books = books
        self.clock = clock

    def returned(self, original_key: str) -> int:
        return self.books.returned.get(original_key, 0)

    def find(self, return_key: str) -> ReturnEntry | None:
        return self.books.return_entries.get(return_key)

    def entries(self, original_key: str) -> list[ReturnEntry]:
        return [e for e in self.books.return_entries.values() if e.original_key == original_key]

    def take(self, original_key: str, amount: int, limit: int) -> bool:
        # Units commit one after the other (ChangedMeanwhile): the check here is the race's too.
        if self.returned(original_key) + amount > limit:
            return False
        self.books.returned[original_key] = self.returned(original_key) + amount
        self.books.written = True
        return True

    def release(self, original_key: str, amount: int) -> None:
        left = self.returned(original_key) - amount
        if left:
            self.books.returned[original_key] = left
        else:  # a refused first return leaves nothing behind
            self.books.returned.pop(original_key, None)

    def record(self, entry: ReturnEntry) -> None:
        self.books.written = True
        self.books.return_entries[entry.return_key] = replace(entry, returned_at=aware(self.clock()))


class InMemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: "InMemoryStore") -> None:
        self.store = store

    def __enter__(self) -> "InMemoryUnitOfWork":
        self.books = self.store.books.copy()
        self.accounts = InMemoryAccountRegistry(self.books)
        self.ledger = InMemoryLedger(self.books, self.store.clock)
        self.inbox = InMemoryInbox(self.books)
        self.outbox = InMemoryOutbox(self.books, self.store.clock)
        self.returns = InMemoryReturns(self.books, self.store.clock)
        return self

    def commit(self) -> None:
        committed = self.store.books
        if not self.books.written:
            return  # nothing written: nothing to commit
        if committed.version != self.books.version:
            raise ChangedMeanwhile(f"the books changed since this unit began (version "
                                   f"{self.books.version}, now {committed.version})")
        self.books.version, self.books.written = self.books.version + 1, False
        committed.__dict__.update(self.books.__dict__)  # in place: stores may share the books
        self.__enter__()  # the unit goes on from what it committed, on a copy again

    def rollback(self) -> None:
        self.__enter__()


class InMemoryStore:
    """Makes units of work over one set of books, as adapters.sql.store.SqlStore does over a
    database; `is_transient` tells which errors a retry may cure."""

    def __init__(self, clock: Clock = utc_now, books: Books | None = None) -> None:
        self.clock = clock
        self.books = books if books is not None else Books()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def with_clock(self, clock: Clock) -> "InMemoryStore":
        """A store over the same books whose ledger, inbox and outbox read `clock`."""
        return InMemoryStore(clock, self.books)

    @staticmethod
    def is_transient(error: BaseException) -> bool:
        return isinstance(error, ChangedMeanwhile)


class FailingLedger(Ledger):
    """A Ledger that raises `fails(operation)`'s error, when it gives one, instead of applying
    the operation; else it is `ledger`. For tests of what a failure in the middle of a unit of
    work leaves behind."""

    def __init__(self, ledger: Ledger, fails: Callable[[TokenOperation], Exception | None]) -> None:
        self.ledger = ledger
        self.fails = fails
        self.name = ledger.name

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        error = self.fails(operation)
        if error is not None:
            raise error
        return self.ledger.apply(operation, claim)

    def prepare(self, planned: Sequence[TokenOperation], lookups: Iterable[str] = (),
                references: Iterable[str] = ()) -> None:
        self.ledger.prepare(planned, lookups, references)

    def find(self, key: str) -> RecordedOperation | None:
        return self.ledger.find(key)

    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        return self.ledger.find_claims(references)

    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        return self.ledger.balances(as_of)

    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        return self.ledger.supply(as_of)

    def journal(self, *, wallet: str | None = None, currency: str | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        return self.ledger.journal(wallet=wallet, currency=currency, start=start, end=end)


class StoreWithFailingLedger:
    """Any store (SQL or in-memory) whose units of work apply through a FailingLedger."""

    def __init__(self, store, fails: Callable[[TokenOperation], Exception | None]) -> None:
        self.store = store
        self.fails = fails
        self.is_transient = store.is_transient

    def __call__(self) -> "_UnitWithFailingLedger":
        return _UnitWithFailingLedger(self.store(), self.fails)


class _UnitWithFailingLedger:
    def __init__(self, unit: UnitOfWork, fails: Callable[[TokenOperation], Exception | None]) -> None:
        self.unit = unit
        self.fails = fails

    def __enter__(self) -> UnitOfWork:
        entered = self.unit.__enter__()
        entered.ledger = FailingLedger(entered.ledger, self.fails)
        return entered

    def __exit__(self, *exc_info) -> None:
        self.unit.__exit__(*exc_info)
