"""The SQL store: registry, inbox and outbox, and the unit of work that commits them together
with the ledger's postings."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import (DBAPIError, DisconnectionError, InvalidRequestError, OperationalError,
                            PendingRollbackError)
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout

from adapters.sql import audit, bulk, deferred, statements
from adapters.sql.audit import certified
from adapters.sql.transaction import NotTheSqlStore, SqlTransaction
from adapters.sql.claims import ClaimTakenMeanwhile
from adapters.sql.ledger import ChangedMeanwhile, as_utc, utc_naive
from adapters.sql.returns import SqlPaymentReturns
from adapters.sql.tables import accounts, inbox, outbox
from bridge.accounts import ACTIVE, FX, RegisteredAccount
from bridge.audit import INBOX
from bridge.messages import InboundRecord, OutboundMessage, SentMessage
from bridge.parties import normalised_account
from bridge.ports import AccountRegistry, Inbox, LedgerPlugin, Outbox, TransactionalStore, UnitOfWork

SENDER_MAX = 256
"""The inbox keeps a sender (a BIC, or a corporate channel id: an OrgId Othr/Id is Max256Text at
most) up to this long."""

_CLAIMED = "claimed"  # inbox verdict while the claiming unit of work is still open


class SqlAccountRegistry(AccountRegistry):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._cache: dict[str, RegisteredAccount | None] = {}
        self._positions: dict[str, str] | None = None
        self._wallets: dict[tuple[str, str], RegisteredAccount | None] = {}
        self._read_ahead: dict[str, RegisteredAccount | None] = {}  # by get_many, not yet asked by get

    def get(self, account: str) -> RegisteredAccount | None:
        account = normalised_account(account)  # rows are stored normalised (parse_registry_rows)
        if account not in self._cache:  # a message names the same accounts again and again
            if account in self._read_ahead:
                found = self._cache[account] = self._read_ahead.pop(account)
            else:
                row = self.connection.execute(statements.FIND_ACCOUNT, {"a": account}).first()
                found = self._cache[account] = None if row is None else _registered(row)
            if found is not None and found.wallet and found.status == ACTIVE:
                # what of_wallet answers (an active account first): a payment's notifications
                # name the accounts its translation looked up, without asking again
                self._wallets.setdefault((found.wallet, found.currency), found)
        return self._cache[account]

    def get_many(self, accounts: Iterable[str]) -> None:
        """Read the accounts not known yet in one query per 500; `get` then takes each from
        what was read (and notes its wallet for `of_wallet` then, as when it reads it itself)."""
        missing = sorted({account for account in map(normalised_account, accounts)
                          if account not in self._cache and account not in self._read_ahead})
        for chunk in statements.chunks(missing):
            found = {row.account: _registered(row)
                     for row in self.connection.execute(statements.FIND_ACCOUNTS, {"accounts": chunk})}
            self._read_ahead.update({account: found.get(account) for account in chunk})

    def upsert(self, rows: Iterable[RegisteredAccount]) -> int:
        values = [dict(account=a.account, currency=a.currency, wallet=a.wallet, status=a.status,
                       kind=a.kind, scheme=a.scheme, issuer=a.issuer, group=a.group) for a in rows]
        if not values:
            return 0
        statement = statements.insert_for(self.connection.dialect.name)(accounts).values(values)
        self.connection.execute(statement.on_conflict_do_update(
            index_elements=["account"],
            set_={c: statement.excluded[c]
                  for c in ("currency", "wallet", "status", "kind", "scheme", "issuer", "group")}))
        self._cache.clear()
        self._read_ahead.clear()
        self._positions = None
        self._wallets.clear()
        return len(values)

    def of_wallet(self, wallet: str, currency: str) -> RegisteredAccount | None:
        if (wallet, currency) not in self._wallets:  # a unit of work notifies the same wallets again
            row = self.connection.execute(statements.WALLET_ACCOUNTS, {"w": wallet, "c": currency}).first()
            self._wallets[wallet, currency] = None if row is None else _registered(row)
        return self._wallets[wallet, currency]

    def all(self) -> list[RegisteredAccount]:
        rows = self.connection.execute(select(accounts).order_by(accounts.c.kind.desc(),
                                                                 accounts.c.currency, accounts.c.account))
        return [_registered(r) for r in rows]

    def fx_positions(self) -> dict[str, str]:
        if self._positions is None:  # a few rows, read once per unit of work
            rows = self.connection.execute(select(accounts.c.currency, accounts.c.wallet).where(
                accounts.c.kind == FX, accounts.c.status == ACTIVE, accounts.c.wallet.is_not(None)))
            self._positions = {currency: wallet for currency, wallet in rows}
        return self._positions


def _registered(row) -> RegisteredAccount:
    return RegisteredAccount(row.account, row.currency, row.wallet, row.status, row.kind,
                             row.scheme, row.issuer, row.group)


class SqlInbox(Inbox):
    def __init__(self, connection: Connection, clock: Callable[[], datetime], *,
                 defer: bool = False) -> None:
        self.connection = connection
        self.clock = clock
        self.defer = defer  # records sent at commit (adapters.sql.deferred): a unit of work's

    def claim(self, digest: str) -> bool:
        result = self.connection.execute(statements.claim_inbox(self.connection.dialect.name), dict(
            digest=digest, received_at=utc_naive(self.clock()), verdict=_CLAIMED, summary="",
            raw=b""))
        return result.scalar() is not None  # RETURNING: rowcount is unreliable across drivers

    def claim_many(self, digests: Sequence[str]) -> set[str]:
        unique = set(digests)
        if not unique:
            return set()
        received_at = utc_naive(self.clock())
        rows = [dict(digest=d, received_at=received_at, verdict=_CLAIMED, summary="", raw=b"")
                for d in sorted(unique)]  # one order for every unit: concurrent claims cannot deadlock
        return {digest for digest, in bulk.insert_returning(
            self.connection, statements.claim_inbox(self.connection.dialect.name), rows)}

    def record(self, record: InboundRecord) -> None:
        row = dict(
            digest=record.digest, received_at=utc_naive(record.received_at),
            message_type=record.message_type, message_id=(record.message_id or "")[:35] or None,
            business_message_id=(record.business_message_id or "")[:35] or None,
            sender=(record.sender or "")[:SENDER_MAX] or None, verdict=record.verdict,
            summary=record.summary, raw=record.raw, reply_id=record.reply_id)
        params = {"d": record.digest, **{k: v for k, v in row.items() if k != "digest"}}
        if self.defer:
            deferred.defer(self.connection, statements.RECORD_INBOX, params)
        else:
            self.connection.execute(statements.RECORD_INBOX, params)
        audit.record(self.connection, INBOX, record.digest, certified(INBOX, row))

    def find(self, digest: str) -> InboundRecord | None:
        deferred.flush(self.connection)
        row = self.connection.execute(statements.FIND_INBOX, {"d": digest}).first()
        return None if row is None or row.verdict == _CLAIMED else _inbound(row)

    def by_message_id(self, message_id: str) -> list[InboundRecord]:
        deferred.flush(self.connection)
        rows = self.connection.execute(select(inbox).where(inbox.c.message_id == message_id[:35])
                                       .order_by(inbox.c.received_at.desc()))
        return [_inbound(r) for r in rows if r.verdict != _CLAIMED]


def _inbound(row) -> InboundRecord:
    return InboundRecord(row.digest, as_utc(row.received_at), row.message_type, row.message_id,
                         row.business_message_id, row.sender, row.verdict, row.summary,
                         row.raw, row.reply_id)


class SqlOutbox(Outbox):
    def __init__(self, connection: Connection, clock: Callable[[], datetime], *,
                 defer: bool = False) -> None:
        self.connection = connection
        self.clock = clock
        self.defer = defer  # rows sent at commit (adapters.sql.deferred): a unit of work's

    def add(self, message: OutboundMessage) -> None:
        row = dict(
            message_id=message.message_id, correlation_id=(message.correlation_id or "")[:35] or None,
            message_type=message.message_type, content_type=message.content_type,
            body=message.body, created_at=utc_naive(self.clock()))
        if self.defer:
            deferred.defer(self.connection, statements.ADD_OUTBOX, row)
        else:
            self.connection.execute(statements.ADD_OUTBOX, row)

    def get(self, message_id: str) -> OutboundMessage | None:
        deferred.flush(self.connection)
        row = self.connection.execute(statements.FIND_OUTBOX, {"m": message_id}).first()
        return None if row is None else _outbound(row)

    def pending(self, limit: int = 100, created_before: datetime | None = None) -> list[OutboundMessage]:
        deferred.flush(self.connection)
        query = (select(outbox).where(outbox.c.published_at.is_(None))
                 .order_by(outbox.c.seq).limit(limit))
        if created_before is not None:
            query = query.where(outbox.c.created_at < utc_naive(created_before))
        return [_outbound(r) for r in self.connection.execute(query)]

    def backlog(self) -> int:
        deferred.flush(self.connection)
        return self.connection.execute(select(func.count()).select_from(outbox)
                                       .where(outbox.c.published_at.is_(None))).scalar_one()

    def mark_published(self, message_ids: Iterable[str]) -> None:
        ids = list(message_ids)
        if ids:
            deferred.flush(self.connection)
            self.connection.execute(update(outbox).where(outbox.c.message_id.in_(ids))
                                    .values(published_at=utc_naive(self.clock())))


    def correlated(self, correlation_id: str) -> list[SentMessage]:
        deferred.flush(self.connection)
        rows = self.connection.execute(select(outbox).where(outbox.c.correlation_id == correlation_id[:35])
                                       .order_by(outbox.c.seq))
        return [SentMessage(_outbound(r), as_utc(r.created_at), r.published_at is not None) for r in rows]


def _outbound(row) -> OutboundMessage:
    return OutboundMessage(row.message_id, row.correlation_id, row.message_type, row.body,
                           row.content_type)


class SqlUnitOfWork(UnitOfWork):
    """One database transaction over registry, ledger, inbox and outbox."""

    def __init__(self, engine: Engine, ledger_plugin: LedgerPlugin,
                 clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.ledger_plugin = ledger_plugin
        self.clock = clock

    def __enter__(self) -> "SqlUnitOfWork":
        self.connection = self.engine.connect()
        self.transaction = SqlTransaction(self.connection)
        self.accounts = SqlAccountRegistry(self.connection)
        self.ledger = self.ledger_plugin.ledger_for(self.transaction)
        self.inbox = SqlInbox(self.connection, self.clock, defer=True)
        self.outbox = SqlOutbox(self.connection, self.clock, defer=True)
        self.returns = SqlPaymentReturns(self.connection, self.clock)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.rollback()
        except (DBAPIError, InvalidRequestError):
            pass  # the connection is already gone (server restart): nothing left to roll back
        finally:
            self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        self.transaction.rollback()


class SqlStore:
    """The store behind a database URL: makes units of work with the ledger plugin's ledger,
    and transactions of their own for the plugin's jobs (bridge.ports.TransactionalStore);
    knows which errors are transient."""

    def __init__(self, engine: Engine, ledger_plugin: LedgerPlugin,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.engine = engine
        self.ledger_plugin = ledger_plugin
        self.clock = clock

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.ledger_plugin, self.clock)

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.engine.connect() as connection:
            transaction = SqlTransaction(connection)
            try:
                yield transaction
                transaction.commit()
            finally:
                transaction.rollback()

    @staticmethod
    def is_transient(error: BaseException) -> bool:
        """Deadlocks, serialization failures, lock timeouts and lost connections: retry them."""
        if isinstance(error, (OperationalError, PendingRollbackError, DisconnectionError,
                              SqlPoolTimeout, ChangedMeanwhile, ClaimTakenMeanwhile)):
            return True  # PendingRollbackError: a connection invalidated mid-transaction
        if isinstance(error, DBAPIError):
            code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
            return bool(error.connection_invalidated or (code and code[:2] in ("40", "08", "57")))
        return False


def sql_store(store: TransactionalStore) -> SqlStore:
    """The SQL store, for a plugin whose own jobs read and write the store's database."""
    if not isinstance(store, SqlStore):
        raise NotTheSqlStore(f"this ledger keeps its books in the bridge's SQL store; it was "
                             f"given a {type(store).__name__}")
    return store
