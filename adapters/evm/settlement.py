"""Settlement: moving committed operations onto the chain and following them to finality.

`Settler.settle()` is called by the worker after each committed batch and on a timer. One call:

1. **submit**: planned operations get nonces (managed here, in the store, not by the node),
   are signed and recorded as submitted (tx hash, nonce, raw bytes) in one short transaction,
   and only then broadcast, all of them, without waiting for receipts (pipelining; at most
   `max_in_flight` unconfirmed at once);
2. **track**: `Settled` events since the last scan tell which references the chain applied;
   a submitted transaction whose nonce the chain has used without such an event is looked up
   (receipt: why it reverted; no receipt: its nonce was taken, so it is planned again); one
   the node has lost is re-broadcast byte for byte; never blindly re-sent;
3. **confirm**: an applied operation `confirmations` blocks deep (its block still canonical)
   becomes confirmed (ACSC); a rejected one failed (RJCT, available balances restored).

Each status change is returned once, even with several workers settling at the same time, and
handed to `on_changes` inside the transaction that records it: the worker adds its follow-up
pacs.002 to the outbox there, so a crash can neither lose the follow-up nor send it twice.
A restarted worker needs nothing else: everything it resumes from is in the store.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Engine, and_, func, select, update

from adapters.evm.book import (
    ACSC,
    ACSP,
    RJCT,
    StatusChange,
    operation_of,
    reverse_available,
    settled_burn,
)
from adapters.evm.chain import (
    GAS_LIMITS,
    MAX_GAS_LIMIT,
    SettledLog,
    SignedTx,
    TokenChain,
    as_address,
)
from adapters.evm.errors import (
    DUPLICATE,
    DUPLICATE_REASON,
    KNOWN,
    MORE_GAS,
    NONCE_GAP,
    NONCE_USED,
    REJECT,
    REPRICE,
    RETRY,
    TRANSIENT,
    UNSPECIFIED,
    Verdict,
)
from adapters.evm.tables import (
    CONFIRMED,
    FAILED,
    PLANNED,
    SUBMITTED,
    evm_contracts,
    evm_operations,
    evm_senders,
)
from adapters.sql.ledger import utc_naive
from adapters.sql.tables import payment_refs

log = structlog.get_logger("tokenbridge.evm")

MAX_ATTEMPTS = 5
"""Signings of one operation (out of gas, nonce taken, issuer not authorised, ...) before it is
rejected MS03: past that, an operator has to look, and the payer gets an answer."""

REBROADCAST_AFTER_S = 30.0
"""A submitted transaction still unmined after this long is looked up at the node and, if the
node has lost it, broadcast again (same bytes). Also done once when a settler starts."""

ROW_BATCH = 500
"""Rows read or matched per query."""


@dataclass(frozen=True, slots=True)
class SettleReport:
    submitted: int
    changes: list[StatusChange]


class Settler:
    """Advances the store's EVM operations; one per process and store (see module doc)."""

    def __init__(self, engine: Engine, chain: TokenChain, *, confirmations: int = 1,
                 max_in_flight: int = 500,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_changes: Callable[[Connection, list[StatusChange]], None] | None = None) -> None:
        self.engine = engine
        self.on_changes = on_changes  # called in the transaction that records the changes
        self.chain = chain
        self.confirmations = max(1, confirmations)
        self.max_in_flight = max(1, max_in_flight)
        self.clock = clock
        self._resumed = False  # the first round looks up every unmined transaction
        self._decided: list[StatusChange] = []  # failures decided since the last track()
        self._unsent: set[str] = set()  # broadcasts the node did not take (gap, node down)

    # -- the public step ---------------------------------------------------------------------

    def settle(self) -> list[StatusChange]:
        """One round: submit what is planned, follow what is submitted; the status changes."""
        return self.run_round().changes

    def run_round(self) -> SettleReport:
        submitted = self.submit()
        changes = self.track()
        return SettleReport(submitted, changes)

    def pending(self) -> int:
        """Operations not final yet (planned or submitted)."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(evm_operations).where(
                evm_operations.c.state.in_((PLANNED, SUBMITTED)))).scalar_one()

    # -- 1. submit ---------------------------------------------------------------------------

    def submit(self) -> int:
        """Sign and record planned operations, then broadcast them; how many were submitted."""
        with self.engine.connect() as connection:
            planned = connection.execute(select(func.count()).select_from(evm_operations).where(
                evm_operations.c.state == PLANNED)).scalar_one()
        if not planned:
            return 0
        chain_pending = self.chain.nonce_at("pending")
        fees = self.chain.fees()
        signed: list[SignedTx] = []
        with self.engine.begin() as connection:
            next_nonce = self._lock_sender(connection, chain_pending)
            in_flight = connection.execute(select(func.count()).select_from(evm_operations).where(
                and_(evm_operations.c.state == SUBMITTED,
                     evm_operations.c.block_number.is_(None)))).scalar_one()
            room = self.max_in_flight - in_flight
            if room <= 0:
                return 0
            rows = connection.execute(select(evm_operations).where(
                evm_operations.c.state == PLANNED).order_by(evm_operations.c.seq).limit(room)).all()
            if not rows:
                return 0
            held = set(connection.execute(select(evm_operations.c.nonce).where(
                evm_operations.c.nonce >= chain_pending)).scalars())
            nonces = _free_nonces(chain_pending, next_nonce, held)
            tokens = dict(connection.execute(select(evm_contracts.c.currency, evm_contracts.c.address)).all())
            now = utc_naive(self.clock())
            for row in rows:
                nonce = next(nonces)
                data = self.chain.call_data(row.kind, as_address(row.debit_wallet),
                                            as_address(row.credit_wallet), row.amount, row.payment_ref)
                tx = self.chain.sign(tokens[row.currency], data, nonce, row.gas_limit, fees)
                connection.execute(update(evm_operations).where(and_(
                    evm_operations.c.seq == row.seq, evm_operations.c.state == PLANNED)).values(
                    state=SUBMITTED, nonce=nonce, tx_hash=tx.tx_hash, raw_tx=tx.raw,
                    attempts=row.attempts + 1, submitted_at=now, block_number=None, block_hash=None))
                signed.append(tx)
            top = max(tx.nonce for tx in signed) + 1
            connection.execute(update(evm_senders).where(evm_senders.c.address == self.chain.address)
                               .values(next_nonce=func.max(evm_senders.c.next_nonce, top)
                                       if connection.dialect.name == "sqlite"
                                       else func.greatest(evm_senders.c.next_nonce, top)))
        # Recorded first, broadcast after: a crash in between leaves transactions that the next
        # round finds unknown to the node and broadcasts, byte for byte.
        for tx, verdict in zip(signed, self.chain.send_many([tx.raw for tx in signed])):
            self._after_broadcast(tx, verdict)
        log.info("evm.submitted", count=len(signed), first_nonce=signed[0].nonce,
                 last_nonce=signed[-1].nonce)
        return len(signed)

    def _lock_sender(self, connection, chain_pending: int) -> int:
        """The issuer's next nonce, locked for this transaction (FOR UPDATE; SQLite's write
        lock is already held), never below what the chain has seen."""
        row = connection.execute(select(evm_senders).where(
            evm_senders.c.address == self.chain.address).with_for_update()).first()
        if row is None:
            connection.execute(evm_senders.insert().values(
                address=self.chain.address, chain_id=self.chain.chain_id, next_nonce=chain_pending))
            return chain_pending
        if row.chain_id != self.chain.chain_id:
            raise RuntimeError(f"the store's issuer nonces are for chain {row.chain_id}, the node "
                               f"is chain {self.chain.chain_id}")
        return max(row.next_nonce, chain_pending)

    def _broadcast(self, tx: SignedTx) -> Verdict | None:
        return self._after_broadcast(tx, self.chain.send(tx.raw))

    def _after_broadcast(self, tx: SignedTx, verdict: Verdict | None) -> Verdict | None:
        if verdict is None or verdict.action in (KNOWN, NONCE_USED, NONCE_GAP, TRANSIENT):
            if verdict is not None and verdict.action in (NONCE_GAP, TRANSIENT):
                self._unsent.add(tx.tx_hash)  # looked up (and sent again) next round
                if verdict.action == TRANSIENT:
                    log.warning("evm.broadcast_failed", tx_hash=tx.tx_hash, nonce=tx.nonce,
                                error=verdict.info)
            return verdict
        if verdict.action in (REPRICE, MORE_GAS):
            self._resign(tx, more_gas=verdict.action == MORE_GAS)
            return verdict
        # The node refused it outright (a simulated revert): decide now; the nonce is free again.
        self._decide(tx.tx_hash, verdict, nonce_consumed=False)
        return verdict

    def _resign(self, tx: SignedTx, *, more_gas: bool) -> None:
        """Sign the same nonce again with fresh fees (or more gas) and broadcast that instead."""
        with self.engine.begin() as connection:
            row = connection.execute(select(evm_operations).where(and_(
                evm_operations.c.tx_hash == tx.tx_hash, evm_operations.c.state == SUBMITTED))).first()
            if row is None:
                return
            gas = min(MAX_GAS_LIMIT, row.gas_limit * 2) if more_gas else row.gas_limit
            token = connection.execute(select(evm_contracts.c.address).where(
                evm_contracts.c.currency == row.currency)).scalar_one()
            data = self.chain.call_data(row.kind, as_address(row.debit_wallet),
                                        as_address(row.credit_wallet), row.amount, row.payment_ref)
            fees = {k: v * 2 for k, v in self.chain.fees().items()}
            again = self.chain.sign(token, data, row.nonce, gas, fees)
            connection.execute(update(evm_operations).where(evm_operations.c.seq == row.seq).values(
                tx_hash=again.tx_hash, raw_tx=again.raw, gas_limit=gas))
        log.info("evm.resigned", old_tx=tx.tx_hash, tx_hash=again.tx_hash, nonce=again.nonce,
                 gas=gas)
        verdict = self.chain.send(again.raw)
        if verdict is not None and verdict.action not in (KNOWN, NONCE_USED, NONCE_GAP, TRANSIENT,
                                                          REPRICE, MORE_GAS):
            self._decide(again.tx_hash, verdict, nonce_consumed=False)

    # -- 2. track and 3. confirm -------------------------------------------------------------

    def track(self) -> list[StatusChange]:
        changes: list[StatusChange] = []
        latest = self.chain.latest()
        self._scan(latest)
        # "latest", not the block number: a pruning node (anvil --prune-history) keeps no older
        # state. A nonce used in a block newer than the scan is found mined by its receipt.
        consumed = self.chain.nonce_at("latest")
        with self.engine.connect() as connection:
            unmined = connection.execute(select(evm_operations).where(and_(
                evm_operations.c.state == SUBMITTED, evm_operations.c.block_number.is_(None)))
                .order_by(evm_operations.c.nonce)).all()
        for row in unmined:
            if row.nonce < consumed:
                self._resolve_used_nonce(row)
            elif not self._resumed or row.tx_hash in self._unsent or self._stale(row):
                self._unsent.discard(row.tx_hash)
                if not self.chain.is_known(row.tx_hash):
                    log.info("evm.rebroadcast", key=row.key, tx_hash=row.tx_hash, nonce=row.nonce)
                    self._broadcast(SignedTx(row.tx_hash, bytes(row.raw_tx), row.nonce, row.gas_limit))
        self._resumed = True
        changes, self._decided = self._decided, []
        changes.extend(self._confirm(latest))
        self._fill_gaps(consumed)
        return changes

    def _stale(self, row) -> bool:
        if row.submitted_at is None:
            return True
        age = (utc_naive(self.clock()) - row.submitted_at).total_seconds()
        return age >= REBROADCAST_AFTER_S

    def _scan(self, latest: int) -> None:
        """Read Settled events since the last scan; note where each of ours was mined."""
        with self.engine.connect() as connection:
            tokens = connection.execute(select(evm_contracts)).all()
        if not tokens:
            return
        start = min(t.scanned_block for t in tokens) + 1
        if start > latest:
            return
        by_token = {t.address: t.currency for t in tokens}
        logs = self.chain.settled_logs(by_token, start, latest)
        with self.engine.begin() as connection:
            for chunk in _chunks(logs, ROW_BATCH):
                rows = {r.payment_ref: r for r in connection.execute(select(evm_operations).where(
                    evm_operations.c.payment_ref.in_([s.payment_ref for s in chunk])))}
                for settled in chunk:
                    row = rows.get(settled.payment_ref)
                    if row is not None:
                        self._note_mined(connection, row, settled, by_token[settled.token])
            connection.execute(update(evm_contracts).values(scanned_block=latest))

    def _note_mined(self, connection, row, settled: SettledLog, currency: str) -> None:
        if row.state == CONFIRMED or row.block_number == settled.block_number:
            return
        if not _same_content(row, settled, currency):
            log.error("evm.reference_taken", key=row.key, tx_hash=settled.tx_hash,
                      info="another operation settled under this payment reference")
            if row.state != FAILED:
                self._fail(connection, row, DUPLICATE_REASON,
                           f"payment reference {row.payment_ref} was used on chain by "
                           f"{settled.tx_hash} for a different operation")
            return
        if row.state == FAILED:  # should never happen: the chain did what we had given up on
            log.error("evm.failed_operation_settled", key=row.key, tx_hash=settled.tx_hash)
            return
        connection.execute(update(evm_operations).where(evm_operations.c.seq == row.seq).values(
            state=SUBMITTED, block_number=settled.block_number, block_hash=settled.block_hash,
            tx_hash=settled.tx_hash))

    def _resolve_used_nonce(self, row) -> None:
        """The chain used this transaction's nonce, yet no Settled event names its reference."""
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None and receipt["status"] == 1:
            return  # mined after our scan: the next round's scan finds its event
        if receipt is not None:
            token = self._token(row.currency)
            data = self.chain.call_data(row.kind, as_address(row.debit_wallet),
                                        as_address(row.credit_wallet), row.amount, row.payment_ref)
            verdict = self.chain.failure_verdict(receipt, row.gas_limit, token, data)
        elif self.chain.is_known(row.tx_hash):
            return  # the node still has it (its receipt is not indexed yet): next round
        else:
            verdict = Verdict(RETRY, info=f"nonce {row.nonce} was used by another transaction")
        self._decide(row.tx_hash, verdict, nonce_consumed=True)

    def _decide(self, tx_hash: str, verdict: Verdict, *, nonce_consumed: bool) -> None:
        """Apply a verdict about a transaction that will not settle as sent."""
        with self.engine.begin() as connection:
            row = connection.execute(select(evm_operations).where(and_(
                evm_operations.c.tx_hash == tx_hash, evm_operations.c.state == SUBMITTED))).first()
            if row is None:
                return
            release = {} if nonce_consumed else {"nonce": None}
            if verdict.action == DUPLICATE:
                self._adopt_or_reject(connection, row, **release)
            elif verdict.action == REJECT:
                self._fail(connection, row, verdict.reason or UNSPECIFIED, verdict.info, **release)
            elif row.attempts >= MAX_ATTEMPTS:
                self._fail(connection, row, UNSPECIFIED,
                           f"gave up after {row.attempts} attempts: {verdict.info}", **release)
            else:  # MORE_GAS, RETRY: plan again; the reference check makes a resend harmless
                gas = min(MAX_GAS_LIMIT, row.gas_limit * 2) if verdict.action == MORE_GAS else row.gas_limit
                log.warning("evm.replanned", key=row.key, tx_hash=tx_hash, why=verdict.action,
                            info=verdict.info, attempts=row.attempts)
                connection.execute(update(evm_operations).where(evm_operations.c.seq == row.seq)
                                   .values(state=PLANNED, nonce=None, tx_hash=None, raw_tx=None,
                                           gas_limit=gas))

    def _adopt_or_reject(self, connection, row, **release) -> None:
        """The chain refused the reference as used: ours (an earlier attempt settled) or not?"""
        token = self._token(row.currency, connection)
        block = int(self.chain.token_call(token, "settledIn", bytes.fromhex(row.payment_ref[2:])))
        found = self.chain.settled_logs([token], block, block, row.payment_ref) if block else []
        if found and _same_content(row, found[0], row.currency):
            connection.execute(update(evm_operations).where(evm_operations.c.seq == row.seq).values(
                block_number=found[0].block_number, block_hash=found[0].block_hash,
                tx_hash=found[0].tx_hash, **release))
            return
        self._fail(connection, row, DUPLICATE_REASON,
                   f"payment reference {row.payment_ref} was already used on chain for a "
                   "different operation", **release)

    def _fail(self, connection, row, reason: str, info: str, **extra) -> None:
        now = self.clock()
        done = connection.execute(update(evm_operations).where(and_(
            evm_operations.c.seq == row.seq, evm_operations.c.state.in_((PLANNED, SUBMITTED))))
            .values(state=FAILED, reason=reason, info=info, settled_at=utc_naive(now), **extra))
        if done.rowcount != 1:
            return
        reverse_available(connection, row.currency, row.amount, as_address(row.debit_wallet),
                          as_address(row.credit_wallet))
        # Nothing was minted: its payment's references are free for another road to mint.
        connection.execute(payment_refs.delete().where(payment_refs.c.operation_key == row.key))
        log.warning("evm.failed", key=row.key, tx_hash=row.tx_hash, reason=reason, info=info)
        change = StatusChange(row.key, operation_of(row), ACSP, RJCT, reason, info, row.tx_hash,
                              None, now)
        if self.on_changes is not None:
            self.on_changes(connection, [change])
        self._decided.append(change)

    def _confirm(self, latest: int) -> list[StatusChange]:
        deep = latest - self.confirmations + 1
        with self.engine.connect() as connection:
            rows = connection.execute(select(evm_operations).where(and_(
                evm_operations.c.state == SUBMITTED, evm_operations.c.block_number.is_not(None),
                evm_operations.c.block_number <= deep)).order_by(evm_operations.c.block_number)).all()
        if not rows:
            return []
        canonical = self.chain.block_hashes(r.block_number for r in rows)
        changes = []
        with self.engine.begin() as connection:
            for row in rows:
                if canonical.get(row.block_number) != row.block_hash:
                    log.warning("evm.reorg", key=row.key, block=row.block_number)
                    connection.execute(update(evm_operations).where(evm_operations.c.seq == row.seq)
                                       .values(block_number=None, block_hash=None))
                    connection.execute(update(evm_contracts).where(
                        evm_contracts.c.scanned_block >= row.block_number).values(
                        scanned_block=row.block_number - 1))
                    continue
                when = datetime.fromtimestamp(self.chain.block_time(row.block_hash), UTC)
                done = connection.execute(update(evm_operations).where(and_(
                    evm_operations.c.seq == row.seq, evm_operations.c.state == SUBMITTED)).values(
                    state=CONFIRMED, settled_at=utc_naive(when)))
                if done.rowcount == 1:
                    settled_burn(connection, row)
                    changes.append(StatusChange(row.key, operation_of(row), ACSP, ACSC, None, None,
                                                row.tx_hash, row.block_number, when))
            if changes and self.on_changes is not None:
                self.on_changes(connection, changes)
        if changes:
            log.info("evm.confirmed", count=len(changes), up_to_block=deep)
        return changes

    def _fill_gaps(self, consumed: int) -> None:
        """A nonce below a submitted one that nothing will use (its operation was refused by the
        node, or planned again) would hold back every later transaction: use it up."""
        with self.engine.connect() as connection:
            waiting = connection.execute(select(func.max(evm_operations.c.nonce)).where(and_(
                evm_operations.c.state == SUBMITTED, evm_operations.c.block_number.is_(None),
                evm_operations.c.nonce >= consumed))).scalar()
            if waiting is None:
                return
            claimed = set(connection.execute(select(evm_operations.c.nonce).where(
                evm_operations.c.nonce >= consumed)).scalars())
        pending = self.chain.nonce_at("pending")
        gaps = [n for n in range(max(consumed, pending), waiting) if n not in claimed]
        if not gaps:
            return
        fees = self.chain.fees()
        for nonce in gaps:
            log.info("evm.gap_filled", nonce=nonce)
            self.chain.send(self.chain.sign_filler(nonce, fees).raw)

    def _token(self, currency: str, connection=None) -> str:
        query = select(evm_contracts.c.address).where(evm_contracts.c.currency == currency)
        if connection is not None:
            return connection.execute(query).scalar_one()
        with self.engine.connect() as own:
            return own.execute(query).scalar_one()


def _free_nonces(chain_pending: int, next_nonce: int, held: set[int]):
    """Nonces to hand out, lowest first: gaps left below the store's next nonce, then new ones."""
    for nonce in range(chain_pending, next_nonce):
        if nonce not in held:
            yield nonce
    nonce = max(next_nonce, chain_pending)
    while True:
        if nonce not in held:
            yield nonce
        nonce += 1


def _same_content(row, settled: SettledLog, currency: str) -> bool:
    return (row.currency == currency and row.amount == settled.amount and row.kind == settled.kind
            and as_address(row.debit_wallet) == settled.from_wallet
            and as_address(row.credit_wallet) == settled.to_wallet)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def initial_gas(kind: str) -> int:
    return GAS_LIMITS[kind]
