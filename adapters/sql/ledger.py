"""The SQL ledger: double-entry postings, wallet balances, idempotency keys under a unique
constraint, on the unit of work's connection (so it commits with the inbox and outbox).

Concurrency: the key is claimed with INSERT .. ON CONFLICT DO NOTHING (a concurrent claim of the
same key waits for the first to commit); debits are conditional updates (`balance >= amount`),
so two processes can never overdraw a wallet; a CHECK constraint backs that up.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, and_, func, select

from adapters.sql import audit, deferred, statements
from adapters.sql.audit import certified
from adapters.sql.tables import balances, operations, postings
from bridge.audit import OPERATION
from bridge.operations import PaymentRefs, TokenOperation
from bridge.ports import (APPLIED, REPLAYED, Ledger, LedgerOutcome, Posting, RecordedOperation,
                          WalletBalance, issuance_holder)

DUPLICATE = "AM05"
INSUFFICIENT = "AM04"


def utc_naive(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC (SQLite has no zones); aware inputs are converted."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def insert_ignoring_conflict(connection: Connection, table, values: dict, conflict: list[str]):
    """INSERT .. ON CONFLICT DO NOTHING, for SQLite and PostgreSQL alike."""
    insert = statements.insert_for(connection.dialect.name)
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)


def add_to_balance(connection: Connection, column, wallet: str, currency: str, amount: int) -> None:
    """balance += amount on a (wallet, currency) row of `column`'s table, creating the row."""
    connection.execute(statements.add_to_balance(connection.dialect.name, column),
                       {"wallet": wallet, "currency": currency, "amount": amount})


def take_from_balance(connection: Connection, column, wallet: str, currency: str, amount: int) -> bool:
    """balance -= amount only when the balance covers it (one conditional UPDATE, so concurrent
    writers can never overdraw); False, and nothing taken, when it does not."""
    result = connection.execute(statements.take_from_balance(column),
                                {"w": wallet, "c": currency, "a": amount})
    return result.rowcount == 1


class SqlLedger(Ledger):
    name = "sql"

    def __init__(self, connection: Connection, clock=lambda: datetime.now(timezone.utc)) -> None:
        self.connection = connection
        self.clock = clock

    def apply(self, operation: TokenOperation) -> LedgerOutcome:
        now = utc_naive(self.clock())
        refs = operation.refs
        row = dict(
            key=operation.key, kind=operation.kind, currency=operation.currency,
            amount=operation.amount, debit_wallet=operation.debit_wallet,
            credit_wallet=operation.credit_wallet, fingerprint=operation.fingerprint,
            status="ACSC", message_id=refs.message_id, end_to_end_id=refs.end_to_end_id,
            transaction_id=refs.transaction_id, uetr=refs.uetr,
            instruction_id=refs.instruction_id, account_servicer_ref=refs.account_servicer_ref,
            applied_at=now)
        claimed = self.connection.execute(
            statements.claim_operation(self.connection.dialect.name), row).scalar()
        if claimed is None:
            existing = self.find(operation.key)
            if existing is not None and existing.operation.fingerprint == operation.fingerprint:
                return LedgerOutcome(REPLAYED, status=existing.status)
            return LedgerOutcome.rejected(DUPLICATE, f"idempotency key {operation.key} was "
                                                     "already used for a different payment")
        if operation.debit_wallet and operation.credit_wallet:
            # Lock both balance rows in one fixed order: opposite transfers between the same two
            # wallets would otherwise deadlock (PostgreSQL detects it after 1 s; we retry).
            self.connection.execute(statements.LOCK_BALANCES, {
                "wallets": sorted({operation.debit_wallet, operation.credit_wallet}),
                "c": operation.currency})
        if operation.debit_wallet and not take_from_balance(self.connection, balances.c.balance, operation.debit_wallet,
                                                 operation.currency, operation.amount):
            # Nothing else was written yet: drop the claim so the key stays free.
            self.connection.execute(operations.delete().where(operations.c.seq == claimed))
            return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} holds "
                                                        f"less than the amount")
        if operation.credit_wallet:
            add_to_balance(self.connection, balances.c.balance, operation.credit_wallet, operation.currency,
                           operation.amount)
        debit_holder = operation.debit_wallet or issuance_holder(operation.currency)
        credit_holder = operation.credit_wallet or issuance_holder(operation.currency)
        deferred.defer(
            self.connection, statements.ADD_POSTINGS,
            dict(operation_seq=claimed, holder=debit_holder, counterparty=credit_holder,
                 currency=operation.currency, amount=-operation.amount, posted_at=now),
            dict(operation_seq=claimed, holder=credit_holder, counterparty=debit_holder,
                 currency=operation.currency, amount=operation.amount, posted_at=now))
        audit.record(self.connection, OPERATION, operation.key, certified(OPERATION, row))
        return LedgerOutcome(APPLIED)

    def find(self, key: str) -> RecordedOperation | None:
        row = self.connection.execute(statements.FIND_OPERATION, {"k": key}).first()
        return None if row is None else _recorded(row)

    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        deferred.flush(self.connection)
        if as_of is None:
            rows = self.connection.execute(
                select(balances).order_by(balances.c.currency, balances.c.wallet))
            return [WalletBalance(r.wallet, r.currency, r.balance) for r in rows]
        rows = self.connection.execute(
            select(postings.c.holder, postings.c.currency, func.sum(postings.c.amount))
            .where(and_(postings.c.posted_at < utc_naive(as_of),
                        ~postings.c.holder.startswith("issuance:")))
            .group_by(postings.c.holder, postings.c.currency)
            .order_by(postings.c.currency, postings.c.holder))
        return [WalletBalance(holder, currency, int(total)) for holder, currency, total in rows]

    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        deferred.flush(self.connection)
        # Supply is what the issuance accounts gave out: minus their postings. Kept apart from
        # wallet balances on purpose, so that "supply == sum of balances" means something.
        query = (select(postings.c.currency, func.sum(postings.c.amount))
                 .where(postings.c.holder.startswith("issuance:"))
                 .group_by(postings.c.currency).order_by(postings.c.currency))
        if as_of is not None:
            query = query.where(postings.c.posted_at < utc_naive(as_of))
        return {currency: -int(total) for currency, total in self.connection.execute(query)}

    def journal(self, *, wallet: str | None = None, currency: str | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        deferred.flush(self.connection)
        query = (select(postings, operations.c.key, operations.c.kind, operations.c.message_id,
                        operations.c.end_to_end_id, operations.c.transaction_id,
                        operations.c.uetr, operations.c.instruction_id,
                        operations.c.account_servicer_ref)
                 .join(operations, operations.c.seq == postings.c.operation_seq)
                 .order_by(postings.c.id))
        if wallet is not None:
            query = query.where(postings.c.holder == wallet)
        else:
            query = query.where(~postings.c.holder.startswith("issuance:"))
        if currency is not None:
            query = query.where(postings.c.currency == currency)
        if start is not None:
            query = query.where(postings.c.posted_at >= utc_naive(start))
        if end is not None:
            query = query.where(postings.c.posted_at < utc_naive(end))
        return [Posting(sequence=r.id, operation_key=r.key, kind=r.kind, holder=r.holder,
                        counterparty=r.counterparty, currency=r.currency, amount=r.amount,
                        posted_at=as_utc(r.posted_at),
                        refs=PaymentRefs(r.message_id, r.end_to_end_id, r.transaction_id, r.uetr,
                                         r.instruction_id, r.account_servicer_ref))
                for r in self.connection.execute(query)]


def _recorded(row) -> RecordedOperation:
    return RecordedOperation(
        operation=TokenOperation(
            key=row.key, kind=row.kind, currency=row.currency, amount=row.amount,
            debit_wallet=row.debit_wallet, credit_wallet=row.credit_wallet,
            refs=PaymentRefs(row.message_id, row.end_to_end_id, row.transaction_id, row.uetr,
                             row.instruction_id, row.account_servicer_ref)),
        sequence=row.seq, applied_at=as_utc(row.applied_at), status=row.status)


class SqlLedgerPlugin:
    """Entry point `tokenbridge.ledgers: sql`: the ledger lives in the store's own database."""

    name = "sql"

    def __init__(self, settings: object | None = None) -> None:
        self.settings = settings

    def ledger_for(self, connection: Connection) -> Ledger:
        return SqlLedger(connection)


