"""The SQL ledger: double-entry postings, wallet balances, idempotency keys under a unique
constraint, on the unit of work's connection (so it commits with the inbox and outbox).

Concurrency: a debited wallet's balance row is read FOR UPDATE (SQLite: the writer lock) before
any debit is decided, so two processes can never overdraw it; a CHECK constraint backs that up.
A key is checked when applied and inserted at commit under its unique index: a concurrent unit
that committed the same key first makes this one retry, and the retry answers replay or AM05.

Range: no supply, and so no wallet balance (a wallet holds at most the supply), ever passes
bridge.money's LEDGER_MAX_UNITS; a mint that would take it beyond is refused AM02, nothing
applied. The supply (table `supply`) is read without a lock, so that mints of one currency do not
queue behind each other; at commit it rises only where the stored supply still leaves room, else
a concurrent unit raised it meanwhile and this unit is retried (its retry refuses AM02 what no
longer fits).
A mint's payment references are claimed the same way (adapters.sql.claims).

Holds (adapters.sql.holds): a debit may take only what is available, the balance less what holds
reserve (`balances.held`, read with the balance under its lock); a key held is known like an
applied one (replayed with its status, AM05 for other content) until the hold executes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import IntegrityError

from adapters.sql import audit, bulk, deferred, statements
from adapters.sql import holds as held_rows
from adapters.sql.claims import Claims
from adapters.sql.statements import combined, exact_sum
from adapters.sql.tables import balances, operations, postings, supply
from adapters.sql.transaction import sql_connection
from bridge.codes import Reason, Status
from bridge.holds.terms import Hold, HoldEnding, HoldState, HoldTerms
from bridge.money import LEDGER_MAX_UNITS
from bridge.operations import PaymentRefs, TokenOperation
from bridge.ports import (APPLIED, REPLAYED, Ledger, LedgerOutcome, LedgerPlugin, MintClaim,
                          PaymentClaim, Posting, RecordedOperation, StoreTransaction, WalletBalance,
                          apply_legs, issuance_holder)

DUPLICATE = Reason.DUPLICATION
INSUFFICIENT = Reason.INSUFFICIENT_FUNDS


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


class ChangedMeanwhile(RuntimeError):
    """Another unit of work committed, after this one read it, what this one's decisions rest
    on: the unit is retried (SqlStore.is_transient) and its retry decides on what is stored."""


class KeyTakenMeanwhile(ChangedMeanwhile):
    """Another unit committed an operation under a key this one also applied: its retry sees
    the key (a replay, or AM05)."""


class SupplyRaisedMeanwhile(ChangedMeanwhile):
    """Another unit's mints left no room for this unit's under LEDGER_MAX_UNITS: its retry
    refuses AM02 the mints that no longer fit."""


class SqlLedger(Ledger):
    """Writes are kept in the unit of work until it commits (adapters.sql.deferred): the
    operation rows, their postings and the net change of each balance are sent then, a few
    statements for the whole unit. What an operation needs to be decided, its key's record and
    the debited wallet's balance, is read once per unit (`prepare` reads a batch's at once),
    the balance row locked FOR UPDATE, so decisions made from memory stay true until commit."""

    name = "sql"

    def __init__(self, connection: Connection, clock=lambda: datetime.now(timezone.utc)) -> None:
        self.connection = connection
        self.clock = clock
        # Read from the store (None: absent), or sent by this unit (its row, a dict).
        self._recorded: dict[str, RecordedOperation | dict | None] = {}
        self._pending: dict[str, dict] = {}  # key -> operation row applied in this unit, not yet sent
        self._held: dict[tuple[str, str], int] = {}  # (wallet, currency) -> stored balance, row locked
        self._reserved: dict[tuple[str, str], int] = {}  # (wallet, currency) -> what holds keep of it
        self._holds: dict[str, Hold | None] = {}  # key -> its hold, as read (None: none)
        self._change: dict[tuple[str, str], int] = {}  # (wallet, currency) -> this unit's net change
        self._supply: dict[str, int] = {}  # currency -> stored supply, read without a lock
        self._supply_change: dict[str, int] = {}  # currency -> this unit's mints less its burns
        self._claims = Claims(connection)  # payment references of mints: read, and claimed here

    def prepare(self, planned: Sequence[TokenOperation], lookups: Iterable[str] = (),
                references: Iterable[str] = ()) -> None:
        keys = {op.key for op in planned} | set(lookups)
        self._read_keys(keys - self._recorded.keys() - self._pending.keys())
        self._claims.read(references)
        self._hold({(wallet, op.currency) for op in planned
                    for wallet in (op.debit_wallet, op.credit_wallet) if wallet})
        self._read_supply({op.currency for op in planned if op.debit_wallet is None})

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        return self._seen(operation) or self._apply_new(operation, claim)

    def _seen(self, operation: TokenOperation) -> LedgerOutcome | None:
        """The outcome for a key applied or held before: replayed (its status), or AM05."""
        known = self._known(operation.key)
        if known is not None:
            fingerprint, status = known
            if fingerprint == operation.fingerprint:
                return LedgerOutcome(REPLAYED, status=status)
            return LedgerOutcome.rejected(DUPLICATE, f"idempotency key {operation.key} was "
                                                     "already used for a different payment")
        on_hold = self._hold_of(operation.key)
        return None if on_hold is None else held_rows.as_held(on_hold, operation)

    def _apply_new(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        held = self._claims.conflict(claim) if claim is not None else None
        if held is not None:
            return LedgerOutcome.rejected(DUPLICATE, f"this payment (reference {held.reference}) "
                                                     f"was already minted under {held.operation_key}")
        currency, amount = operation.currency, operation.amount
        if operation.debit_wallet:
            debited = (operation.debit_wallet, currency)
            self._hold({debited})
            if self._held[debited] + self._change.get(debited, 0) - self._reserved[debited] < amount:
                return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} holds "
                                                            f"less than the amount")
            self._change[debited] = self._change.get(debited, 0) - amount
        elif not self._supply_has_room(currency, amount):
            return LedgerOutcome.rejected(Reason.NOT_ALLOWED_AMOUNT, f"the {currency} supply would pass the "
                                                              f"ledger's maximum ({LEDGER_MAX_UNITS})")
        else:
            self._supply_change[currency] = self._supply_change.get(currency, 0) + amount
        if operation.credit_wallet:
            credited = (operation.credit_wallet, currency)
            self._change[credited] = self._change.get(credited, 0) + amount
        else:
            self._supply_change[currency] = self._supply_change.get(currency, 0) - amount
        refs = operation.refs
        row = dict(
            key=operation.key, kind=operation.kind, currency=currency, amount=amount,
            debit_wallet=operation.debit_wallet, credit_wallet=operation.credit_wallet,
            fingerprint=operation.fingerprint, status=Status.ACCEPTED_SETTLEMENT_COMPLETED, message_id=refs.message_id,
            end_to_end_id=refs.end_to_end_id, transaction_id=refs.transaction_id, uetr=refs.uetr,
            instruction_id=refs.instruction_id, account_servicer_ref=refs.account_servicer_ref,
            applied_at=utc_naive(self.clock()))
        if not self._pending:
            deferred.before_flush(self.connection, self._send)
        self._pending[operation.key] = row
        if claim is not None:
            self._claims.hold(operation.key, claim)
        return LedgerOutcome(APPLIED)

    def apply_together(self, operations: Sequence[TokenOperation]) -> LedgerOutcome:
        # Writes wait in this unit until commit (`_send`), so undoing the legs of a refused whole
        # is putting back what this unit had decided before them.
        saved = dict(self._pending), dict(self._change), dict(self._supply_change)
        combined = apply_legs(self.apply, operations)
        if combined.rejection is not None:
            self._pending, self._change, self._supply_change = saved
        return combined

    def _supply_has_room(self, currency: str, amount: int) -> bool:
        """Whether minting `amount` keeps the supply (this unit's mints and burns included)
        within LEDGER_MAX_UNITS. Every wallet holds at most the supply (none is negative), so
        this bounds every balance too."""
        self._read_supply({currency})
        return self._supply[currency] + self._supply_change.get(currency, 0) <= LEDGER_MAX_UNITS - amount

    def _read_supply(self, currencies: set[str]) -> None:
        missing = sorted(currencies - self._supply.keys())
        if missing:
            stored = dict(self.connection.execute(statements.READ_SUPPLY, {"currencies": missing}).all())
            self._supply.update({c: stored.get(c, 0) for c in missing})

    def find(self, key: str) -> RecordedOperation | None:
        if key in self._pending:
            deferred.flush(self.connection)  # its sequence is the store's to give
        found = self._stored(key)
        if found is None and (on_hold := self._hold_of(key)) is not None:
            return held_rows.recorded_hold(on_hold)
        return found

    # -- holds -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def hold(self, operation: TokenOperation, terms: HoldTerms) -> LedgerOutcome:
        seen = self._seen(operation)
        if seen is not None:
            return seen
        deferred.flush(self.connection)  # this unit's balance changes stored: the reserve sees them
        if operation.debit_wallet:
            pair = (operation.debit_wallet, operation.currency)
            self._hold({pair})
            if self._held[pair] + self._change.get(pair, 0) - self._reserved[pair] < operation.amount:
                return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} has less "
                                                            "available than the amount to hold")
            held_rows.reserve(self.connection, *pair, operation.amount)
            self._reserved[pair] += operation.amount
        try:
            held_rows.add_hold(self.connection, held_rows.hold_row(operation, terms, self.clock()))
        except IntegrityError as error:
            if _unique_violation(error):
                raise KeyTakenMeanwhile(str(error.orig)) from error
            raise
        self._holds[operation.key] = Hold(operation, terms, created_at=self.clock())
        return LedgerOutcome(APPLIED, status=Status.ACCEPTED_SETTLEMENT_IN_PROCESS)

    def find_hold(self, key: str) -> Hold | None:
        return self._hold_of(key)

    def holds(self, state: HoldState | None = None, ends_before: datetime | None = None) -> list[Hold]:
        return held_rows.list_holds(self.connection, state, ends_before)

    def end_hold(self, key: str, ending: HoldEnding, claim: MintClaim | None = None) -> LedgerOutcome | None:
        deferred.flush(self.connection)
        found = held_rows.lock_hold(self.connection, key)
        self._holds[key] = found
        if found is None or found.state != HoldState.HELD:
            return None
        operation = found.operation
        if operation.debit_wallet:  # the reserve goes back to the wallet before anything debits it
            pair = (operation.debit_wallet, operation.currency)
            self._hold({pair})
            held_rows.reserve(self.connection, *pair, -operation.amount)
            self._reserved[pair] -= operation.amount
        outcome = LedgerOutcome(APPLIED)
        if ending.state == HoldState.EXECUTED:
            outcome = self._apply_new(operation, claim)
            if outcome.rejection is not None:
                ending = HoldEnding(HoldState.VOIDED, outcome.rejection.reason, ending.by, ending.at)
        if not held_rows.end(self.connection, key, ending):
            raise ChangedMeanwhile(f"hold {key} ended meanwhile")
        self._holds.pop(key, None)
        return outcome

    def count_wrong_fulfilment(self, key: str) -> None:
        held_rows.count_wrong(self.connection, key)
        self._holds.pop(key, None)

    def _hold_of(self, key: str) -> Hold | None:
        if key not in self._holds:
            self._holds.update({key: None, **held_rows.read_holds(self.connection, [key])})
        return self._holds[key]

    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        return self._claims.find(references)

    def _known(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, status) of the operation under `key`, applied before or in this unit."""
        if key in self._pending:
            return self._pending[key]["fingerprint"], Status.ACCEPTED_SETTLEMENT_COMPLETED
        found = self._stored(key)
        return None if found is None else (found.operation.fingerprint, found.status)

    def _stored(self, key: str) -> RecordedOperation | None:
        if key not in self._recorded:
            self._read_keys({key})
        found = self._recorded[key]
        if isinstance(found, dict):  # a row this unit sent: made a RecordedOperation when asked
            found = self._recorded[key] = _recorded(SimpleNamespace(**found))
        return found

    def _read_keys(self, keys: set[str]) -> None:
        for chunk in statements.chunks(sorted(keys)):
            found = {row.key: _recorded(row) for row in
                     self.connection.execute(statements.FIND_OPERATIONS, {"keys": chunk})}
            self._recorded.update({key: found.get(key) for key in chunk})
            unheld = [key for key in chunk if found.get(key) is None and key not in self._holds]
            if unheld:  # a key not applied may be held
                on_hold = held_rows.read_holds(self.connection, unheld)
                self._holds.update({key: on_hold.get(key) for key in unheld})

    def _hold(self, wanted: set[tuple[str, str]]) -> None:
        """Read and lock (FOR UPDATE; SQLite's writer lock covers it) the balance rows of
        `wanted` not held yet, in one fixed order so that concurrent units cannot deadlock on
        them. A wallet without a row holds 0; its row is created at commit."""
        missing = sorted(wanted - self._held.keys())
        for chunk in statements.chunks(missing):
            rows = self.connection.execute(statements.LOCK_BALANCES, {
                "wallets": sorted({w for w, _ in chunk}), "currencies": sorted({c for _, c in chunk})})
            stored = {(r.wallet, r.currency): (r.balance, r.held) for r in rows}
            self._held.update({pair: stored.get(pair, (0, 0))[0] for pair in chunk})
            self._reserved.update({pair: stored.get(pair, (0, 0))[1] for pair in chunk})

    def _send(self) -> None:
        """At commit (or before a read of the tables): the operation rows, their postings,
        then each balance's net change. A key another unit committed meanwhile makes the
        unit retry (KeyTakenMeanwhile)."""
        pending, self._pending = self._pending, {}
        change, self._change = self._change, {}
        if pending:
            try:
                seqs = dict(bulk.insert_returning(self.connection, statements.ADD_OPERATIONS,
                                                  list(pending.values())))
            except IntegrityError as error:
                if _unique_violation(error):
                    raise KeyTakenMeanwhile(str(error.orig)) from error
                raise
            self._claims.send()  # before the balances: a lost claim fails the unit early
            legs = []
            for key, row in pending.items():
                currency = row["currency"]
                debit = row["debit_wallet"] or issuance_holder(currency)
                credit = row["credit_wallet"] or issuance_holder(currency)
                common = dict(operation_seq=seqs[key], currency=currency, posted_at=row["applied_at"])
                legs.append(dict(common, holder=debit, counterparty=credit, amount=-row["amount"]))
                legs.append(dict(common, holder=credit, counterparty=debit, amount=row["amount"]))
                audit.record_operation(self.connection, row, legs[-2:])  # the row and its postings
                row["seq"] = seqs[key]
                self._recorded[key] = row
            bulk.execute_many(self.connection, statements.ADD_POSTINGS, legs)
        dialect = self.connection.dialect.name
        rises = [dict(wallet=w, currency=c, amount=n) for (w, c), n in sorted(change.items()) if n > 0]
        falls = [dict(w=w, c=c, n=n) for (w, c), n in sorted(change.items()) if n < 0]
        if rises:
            self.connection.execute(statements.add_to_balance(dialect, balances.c.balance), rises)
        if falls:  # rows held since they were read: they exist, and cover the fall
            self.connection.execute(statements.CHANGE_BALANCE, falls)
        for pair, amount in change.items():
            if pair in self._held:
                self._held[pair] += amount
        self._send_supply()

    def _send_supply(self) -> None:
        """Each currency's supply by this unit's net change; a rise only where the stored supply
        still leaves room (else SupplyRaisedMeanwhile: the unit is retried)."""
        supply_change, self._supply_change = self._supply_change, {}
        rise = statements.shift_within(self.connection.dialect.name, supply.c.supply)
        for currency, amount in sorted(supply_change.items()):
            if amount < 0:  # burned more than minted: the row exists (tokens were there to burn)
                self.connection.execute(statements.LOWER_SUPPLY, {"c": currency, "n": amount})
            elif amount > 0 and self.connection.execute(rise, {
                    "currency": currency, "amount": amount, "floor": 0,
                    "ceiling": LEDGER_MAX_UNITS - amount}).first() is None:
                raise SupplyRaisedMeanwhile(f"the {currency} supply rose meanwhile: no room for "
                                            f"{amount} more minor units")
            if currency in self._supply:
                self._supply[currency] += amount

    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        deferred.flush(self.connection)
        if as_of is None:
            rows = self.connection.execute(
                select(balances).order_by(balances.c.currency, balances.c.wallet))
            return [WalletBalance(r.wallet, r.currency, r.balance, r.held) for r in rows]
        rows = self.connection.execute(
            select(postings.c.holder, postings.c.currency, *exact_sum(postings.c.amount))
            .where(and_(postings.c.posted_at < utc_naive(as_of),
                        ~postings.c.holder.startswith("issuance:")))
            .group_by(postings.c.holder, postings.c.currency)
            .order_by(postings.c.currency, postings.c.holder))
        return [WalletBalance(holder, currency, combined(high, low)) for holder, currency, high, low in rows]

    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        deferred.flush(self.connection)
        # Supply is what the issuance accounts gave out: minus their postings. Kept apart from
        # wallet balances on purpose, so that "supply == sum of balances" means something.
        query = (select(postings.c.currency, *exact_sum(postings.c.amount))
                 .where(postings.c.holder.startswith("issuance:"))
                 .group_by(postings.c.currency).order_by(postings.c.currency))
        if as_of is not None:
            query = query.where(postings.c.posted_at < utc_naive(as_of))
        return {currency: -combined(high, low) for currency, high, low in self.connection.execute(query)}

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


def _unique_violation(error: IntegrityError) -> bool:
    code = getattr(error.orig, "sqlstate", None)  # psycopg
    return code == "23505" or "UNIQUE constraint failed" in str(error.orig)  # or SQLite's words


def _recorded(row) -> RecordedOperation:
    return RecordedOperation(
        operation=TokenOperation(
            key=row.key, kind=row.kind, currency=row.currency, amount=row.amount,
            debit_wallet=row.debit_wallet, credit_wallet=row.credit_wallet,
            refs=PaymentRefs(row.message_id, row.end_to_end_id, row.transaction_id, row.uetr,
                             row.instruction_id, row.account_servicer_ref)),
        sequence=row.seq, applied_at=as_utc(row.applied_at), status=row.status)


class SqlLedgerPlugin(LedgerPlugin):
    """Entry point `tokenbridge.ledgers: sql`: the ledger lives in the store's own database, so
    each unit of work's ledger writes on the store transaction's connection."""

    name = "sql"

    def __init__(self, settings: object | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings
        self.clock = clock

    def ledger_for(self, transaction: StoreTransaction) -> SqlLedger:
        return SqlLedger(sql_connection(transaction), self.clock)
