"""Signing and broadcasting: planned operations get nonces, are signed and recorded as
submitted in one short transaction, and only then broadcast, all at once, without waiting for
receipts (pipelining). What the node answers decides what follows; nothing is blindly re-sent.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Row

from adapters.evm.chain import MAX_GAS_LIMIT, SignedTx, TokenChain
from adapters.evm.errors import KNOWN, MORE_GAS, NONCE_GAP, NONCE_USED, REPRICE, TRANSIENT, Verdict
from adapters.evm.settlement import nonces, queries
from adapters.evm.settlement.operations import call_data, token_address
from adapters.evm.settlement.verdicts import Verdicts
from adapters.sql.ledger import utc_naive
from adapters.sql.store import SqlStore

log = structlog.get_logger("tokenbridge.evm")

REBROADCAST_AFTER_S = 30.0
"""A submitted transaction still unmined after this long is looked up at the node and, if the
node has lost it, broadcast again (same bytes). Also done once when a settler starts."""

TAKEN = (KNOWN, NONCE_USED, NONCE_GAP, TRANSIENT)
"""Node answers that leave the transaction as it is: in the pool, or looked up next round."""


class Broadcaster:
    """Signs, records and broadcasts; re-signs or re-broadcasts on the node's word."""

    def __init__(self, store: SqlStore, chain: TokenChain, clock: Callable[[], datetime],
                 verdicts: Verdicts) -> None:
        self.store = store
        self.chain = chain
        self.clock = clock
        self.verdicts = verdicts
        self._resumed = False  # the first round looks up every unmined transaction
        self._unsent: set[str] = set()  # broadcasts the node did not take (gap, node down)

    def submit(self, max_in_flight: int) -> int:
        """Sign and record planned operations, then broadcast them, keeping at most
        `max_in_flight` unmined; how many were submitted."""
        with self.store.engine.connect() as connection:
            planned = connection.execute(queries.COUNT_PLANNED).scalar_one()
        if not planned:
            return 0
        chain_pending = self.chain.nonce_at("pending")
        fees = self.chain.fees()
        signed: list[SignedTx] = []
        with self.store.transaction() as transaction:
            connection = transaction.connection
            next_nonce = nonces.lock_sender(connection, self.chain, chain_pending)
            in_flight = connection.execute(queries.COUNT_IN_FLIGHT).scalar_one()
            room = max_in_flight - in_flight
            if room <= 0:
                return 0
            rows = connection.execute(queries.PLANNED_FIRST, {"room": room}).all()
            if not rows:
                return 0
            free = nonces.free_nonces(chain_pending, next_nonce,
                                      nonces.held_nonces(connection, chain_pending))
            tokens = dict(connection.execute(queries.TOKEN_ADDRESSES).all())
            now = utc_naive(self.clock())
            for row in rows:
                nonce = next(free)
                tx = self.chain.sign(tokens[row.currency], call_data(self.chain, row), nonce,
                                     row.gas_limit, fees)
                marked = connection.execute(queries.MARK_SUBMITTED, {
                    "row": row.seq, "nonce": nonce, "tx_hash": tx.tx_hash, "raw_tx": tx.raw,
                    "attempts": row.attempts + 1, "now": now})
                if marked.rowcount == 1:  # else no longer planned (cancelled): never broadcast
                    signed.append(tx)
            if not signed:
                return 0
            nonces.handed_out(connection, self.chain, max(tx.nonce for tx in signed) + 1)
        # Recorded first, broadcast after: a crash in between leaves transactions that the next
        # round finds unknown to the node and broadcasts, byte for byte.
        for tx, verdict in zip(signed, self.chain.send_many([tx.raw for tx in signed])):
            self._after_broadcast(tx, verdict)
        log.info("evm.submitted", count=len(signed), first_nonce=signed[0].nonce,
                 last_nonce=signed[-1].nonce)
        return len(signed)

    def look_up(self, unmined: list[Row]) -> None:
        """Broadcast again, byte for byte, the transactions (nonce not used yet) the node has
        lost: on the first round every one, then those not taken or unmined for too long."""
        for row in unmined:
            if not self._resumed or row.tx_hash in self._unsent or self._stale(row):
                self._unsent.discard(row.tx_hash)
                if not self.chain.is_known(row.tx_hash):
                    log.info("evm.rebroadcast", key=row.key, tx_hash=row.tx_hash, nonce=row.nonce)
                    tx = SignedTx(row.tx_hash, bytes(row.raw_tx), row.nonce, row.gas_limit)
                    self._after_broadcast(tx, self.chain.send(tx.raw))
        self._resumed = True

    def _stale(self, row: Row) -> bool:
        if row.submitted_at is None:
            return True
        age = (utc_naive(self.clock()) - row.submitted_at).total_seconds()
        return age >= REBROADCAST_AFTER_S

    def _after_broadcast(self, tx: SignedTx, verdict: Verdict | None) -> None:
        if verdict is None or verdict.action in TAKEN:
            if verdict is not None and verdict.action in (NONCE_GAP, TRANSIENT):
                self._unsent.add(tx.tx_hash)  # looked up (and sent again) next round
                if verdict.action == TRANSIENT:
                    log.warning("evm.broadcast_failed", tx_hash=tx.tx_hash, nonce=tx.nonce,
                                error=verdict.info)
            return
        if verdict.action in (REPRICE, MORE_GAS):
            self._resign(tx, more_gas=verdict.action == MORE_GAS)
            return
        # The node refused it outright (a simulated revert): decide now; the nonce is free again.
        self.verdicts.decide(tx.tx_hash, verdict, nonce_consumed=False)

    def _resign(self, tx: SignedTx, *, more_gas: bool) -> None:
        """Sign the same nonce again with fresh fees (or more gas) and broadcast that instead."""
        with self.store.transaction() as transaction:
            connection = transaction.connection
            row = connection.execute(queries.SUBMITTED_AS, {"tx_hash": tx.tx_hash}).first()
            if row is None or row.cancel_requested_by is not None:  # its nonce goes to a no-op
                return
            gas = min(MAX_GAS_LIMIT, row.gas_limit * 2) if more_gas else row.gas_limit
            token = token_address(connection, row.currency)
            fees = {k: v * 2 for k, v in self.chain.fees().items()}
            again = self.chain.sign(token, call_data(self.chain, row), row.nonce, gas, fees)
            connection.execute(queries.RESIGNED, {"row": row.seq, "tx_hash": again.tx_hash,
                                                  "raw_tx": again.raw, "gas_limit": gas})
        log.info("evm.resigned", old_tx=tx.tx_hash, tx_hash=again.tx_hash, nonce=again.nonce,
                 gas=gas)
        verdict = self.chain.send(again.raw)
        if verdict is not None and verdict.action not in (*TAKEN, REPRICE, MORE_GAS):
            self.verdicts.decide(again.tx_hash, verdict, nonce_consumed=False)
