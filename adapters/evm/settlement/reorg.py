"""Reorgs deeper than the confirmation depth: an operation answered ACSC whose event is no
longer on the canonical chain. A bridge cannot prevent one; it must notice, say so, and put
the operation back on chain (the policy: re-apply, never twice, as the contract refuses a used
payment reference), and never wedge behind the nonces the reorg gave back.

Each round, the confirmed operations of the last `lookback` blocks (`TOKENBRIDGE_EVM_REORG_LOOKBACK`) (and those already
found lost) have their block hash compared with the chain's. One no longer there is looked up
by its reference (`settledIn`): moved to another canonical block -> noted there; gone -> marked
`lost_at`, an `evm.confirmed_operation_lost` error line and the `confirmed_lost` chain alert,
and re-applied: its signed transaction broadcast again byte for byte while its nonce is free,
else signed anew with a fresh nonce. Once its event is back, `evm.confirmed_operation_restored`;
one that cannot be re-applied (it reverts now) stays lost, alerted, for an operator. With the
`flag` policy (`TOKENBRIDGE_EVM_DEEP_REORG=flag`) nothing is re-applied: it stays lost, alerted
once, shown by `tokenbridge status` and `audit verify`, until an operator acts or the chain
brings it back (another reorg, or its transaction re-broadcast by someone else).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Row

from adapters.evm.chain import TokenChain
from adapters.evm.settlement import nonces, queries
from adapters.evm.settlement.operations import call_data, same_content, token_address
from adapters.evm.settlement.verdicts import MAX_ATTEMPTS
from adapters.sql.ledger import utc_naive
from adapters.sql.store import SqlStore

log = structlog.get_logger("tokenbridge.evm")

LOOKBACK_BLOCKS = 256
"""Confirmed operations this many blocks back are checked against the chain every round."""

CONFIRMED_LOST = "confirmed_lost"


class ReorgWatch:
    """Finds confirmed operations a deep reorg took off the chain, and re-applies them."""

    def __init__(self, store: SqlStore, chain: TokenChain, clock: Callable[[], datetime],
                 alerts: Counter, *, reapply: bool = True, lookback: int = LOOKBACK_BLOCKS) -> None:
        self.store = store
        self.reapply = reapply
        self.lookback = max(1, lookback)
        self.chain = chain
        self.clock = clock
        self.alerts = alerts

    def check(self, latest: int, consumed: int) -> bool:
        """Check recent confirmed operations; True when one was found off the chain."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(queries.RECENTLY_CONFIRMED, {
                "since": latest - self.lookback}).all()
        if not rows:
            return False
        canonical = self.chain.block_hashes({r.block_number for r in rows if r.block_number <= latest})
        found_lost = False
        for row in rows:
            if row.lost_at is None and canonical.get(row.block_number) == row.block_hash:
                continue
            if not self._moved(row):
                found_lost = True
                self._lost(row, consumed)
        return found_lost

    def _moved(self, row: Row) -> bool:
        """Its event is on the canonical chain, maybe in another block: noted there."""
        with self.store.engine.connect() as connection:
            token = token_address(connection, row.currency)
        block = int(self.chain.token_call(token, "settledIn", bytes.fromhex(row.payment_ref[2:])))
        found = self.chain.settled_logs([token], block, block, row.payment_ref) if block else []
        if not found or not same_content(row, found[0], row.currency):
            return False
        with self.store.transaction() as transaction:
            transaction.connection.execute(queries.FOUND_AGAIN, {
                "row": row.seq, "block_number": found[0].block_number,
                "block_hash": found[0].block_hash, "tx_hash": found[0].tx_hash})
        if row.lost_at is not None:
            log.warning("evm.confirmed_operation_restored", key=row.key, tx_hash=found[0].tx_hash,
                        block=found[0].block_number)
        return True

    def _lost(self, row: Row, consumed: int) -> None:
        if row.lost_at is None:
            with self.store.transaction() as transaction:
                transaction.connection.execute(queries.MARK_LOST, {"row": row.seq,
                                                                   "now": utc_naive(self.clock())})
            log.error("evm.confirmed_operation_lost", key=row.key, tx_hash=row.tx_hash,
                      block=row.block_number, info="answered ACSC, no longer on the canonical "
                      "chain (a reorg deeper than the confirmations): "
                      + ("re-applied" if self.reapply else "flagged for an operator"))
            self.alerts[CONFIRMED_LOST] += 1
        if not self.reapply:
            if row.nonce is not None and row.nonce >= consumed:  # never mined by chance: a no-op takes it
                self.chain.send(self.chain.sign_filler(
                    row.nonce, self.chain.replacement_fees(bytes(row.raw_tx))).raw)
            return
        if row.nonce is not None and row.nonce >= consumed:  # its nonce is free again: same bytes
            if not self.chain.is_known(row.tx_hash):
                self.chain.send(bytes(row.raw_tx))
            return
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is None and self.chain.is_known(row.tx_hash):
            return  # pending: wait
        if row.attempts >= MAX_ATTEMPTS:
            return  # stays lost and alerted: an operator decides
        self._sign_again(row)

    def _sign_again(self, row: Row) -> None:
        """Its nonce went to another transaction: sign it again with a fresh one."""
        chain_pending = self.chain.nonce_at("pending")
        with self.store.transaction() as transaction:
            connection = transaction.connection
            next_nonce = nonces.lock_sender(connection, self.chain, chain_pending)
            nonce = next(nonces.free_nonces(chain_pending, next_nonce,
                                            nonces.held_nonces(connection, chain_pending)))
            tx = self.chain.sign(token_address(connection, row.currency), call_data(self.chain, row),
                                 nonce, row.gas_limit, self.chain.fees())
            connection.execute(queries.SIGNED_AGAIN, {"row": row.seq, "nonce": nonce,
                                                      "tx_hash": tx.tx_hash, "raw_tx": tx.raw,
                                                      "attempts": row.attempts + 1})
            nonces.handed_out(connection, self.chain, nonce + 1)
        log.warning("evm.reapplied", key=row.key, tx_hash=tx.tx_hash, nonce=nonce)
        self.chain.send(tx.raw)
