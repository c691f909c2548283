"""Cancelling on request (camt.056) an operation the chain may still apply.

Never mined anyway and answered cancelled: an operation is reported cancelled only when it
can no longer take effect.

- **planned** (never signed): `EvmLedger.cancel` marks it cancelled in the request's unit of
  work, after taking the issuer's nonce lock that `Broadcaster.submit` holds while it reads and
  signs planned rows. Either the round signed it first (the cancel then finds it submitted) or
  it reads it cancelled; `MARK_SUBMITTED` names the state it expects besides.
- **submitted, not mined**: the request is noted (answered PDCR). `replace` signs a no-op (a
  0-value transfer to the issuer) with the operation's nonce at twice its fees and broadcasts
  it; the original is never broadcast again (nor re-signed, nor planned again). `follow`
  waits until the chain has used the nonce: the no-op mined `confirmations` deep (or the
  original reverted) -> cancelled, RJCT DS02, reported with the request so that a camt.029
  follow-up confirms it; the original mined instead -> the scan finds its Settled event and it
  is confirmed as any other (ACSC), reported with the request so that the camt.029 follow-up
  refuses the cancellation. Later nonces are not held up: the no-op fills the nonce either way.
- **mined**: too late (FINAL); a settled payment is returned, not cancelled.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Row

from adapters.evm.book import ACSP, RJCT, StatusChange, operation_of, reverse_available
from adapters.evm.chain import TokenChain, as_address
from adapters.evm.errors import NONCE_USED
from adapters.evm import holds as chain_holds
from adapters.evm.settlement import queries
from adapters.sql.ledger import utc_naive
from adapters.sql.store import SqlStore
from bridge.codes import Reason
from bridge.ports import ChangeReport

log = structlog.get_logger("tokenbridge.evm")

CANCELLED_INFO = "cancelled on request (camt.056) before it took effect"


def release(connection: Connection, row: Row) -> None:
    """What a cancelled operation held in the store: its effect on available balances and the
    payment references its mint claimed (nothing was minted)."""
    reverse_available(connection, row.currency, row.amount, as_address(row.debit_wallet),
                      as_address(row.credit_wallet))
    connection.execute(queries.FREE_PAYMENT_REFS, {"key": row.key})


class Cancelling:
    """Replaces the nonces of submitted operations asked to be cancelled, and decides them."""

    def __init__(self, store: SqlStore, chain: TokenChain, confirmations: int,
                 clock: Callable[[], datetime], report: ChangeReport) -> None:
        self.store = store
        self.chain = chain
        self.confirmations = max(1, confirmations)
        self.clock = clock
        self.report = report

    def replace(self) -> int:
        """Sign, record, then broadcast a no-op for each operation asked to be cancelled since
        the last round; how many."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(queries.TO_REPLACE).all()
        replaced = 0
        for row in rows:
            noop = self.chain.sign_filler(row.nonce, self.chain.replacement_fees(bytes(row.raw_tx)))
            with self.store.transaction() as transaction:
                done = transaction.connection.execute(queries.REPLACED, {
                    "row": row.seq, "noop_hash": noop.tx_hash, "noop_raw": noop.raw})
            if done.rowcount != 1:
                continue  # another settler replaced it
            verdict = self.chain.send(noop.raw)
            log.info("evm.cancel_replacement", key=row.key, nonce=row.nonce, tx_hash=noop.tx_hash,
                     original=row.tx_hash, node=verdict.action if verdict else "taken")
            replaced += 1
        return replaced

    def follow(self, latest: int, consumed: int) -> list[StatusChange]:
        """Decide the replaced operations whose nonce the chain has used: cancelled when the
        no-op took it (deep enough) or the original reverted; left to the scan when the original
        was mined. A no-op the node lost is broadcast again, byte for byte."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(queries.CANCELLING).all()
        changes: list[StatusChange] = []
        for row in rows:
            if row.nonce >= consumed:
                if not self.chain.is_known(row.cancel_tx_hash):
                    verdict = self.chain.send(bytes(row.cancel_raw_tx))
                    if verdict is not None and verdict.action != NONCE_USED:
                        log.warning("evm.cancel_rebroadcast", key=row.key, info=verdict.info)
                continue
            noop = self.chain.receipt(row.cancel_tx_hash)
            if noop is None:
                original = self.chain.receipt(row.tx_hash)
                if original is None or original["status"] == 1:
                    continue  # not indexed yet, or the original won: the scan reads its event
            elif int(noop["blockNumber"]) > latest - self.confirmations + 1:
                continue  # not deep enough yet: a reorg could still bring the original back
            change = self._cancelled(row, int(noop["blockNumber"]) if noop is not None else None)
            if change is not None:
                changes.append(change)
        return changes

    def _cancelled(self, row: Row, block: int | None) -> StatusChange | None:
        now = self.clock()
        with self.store.transaction() as transaction:
            done = transaction.connection.execute(queries.CANCEL_SUBMITTED, {
                "row": row.seq, "reason": Reason.ORDER_CANCELLED, "info": CANCELLED_INFO,
                "now": utc_naive(now)})
            if done.rowcount != 1:
                return None
            release(transaction.connection, row)
            if chain_holds.executes_hold(row):  # the hold stays on chain until voided
                chain_holds.void_after(transaction.connection, row, now)
            change = StatusChange(row.key, operation_of(row), ACSP, RJCT, Reason.ORDER_CANCELLED,
                                  CANCELLED_INFO, row.cancel_tx_hash, block, now.astimezone(UTC),
                                  cancellation=row.cancel_requested_by)
            self.report(transaction, [change])
        log.info("evm.cancelled", key=row.key, nonce=row.nonce, tx_hash=row.cancel_tx_hash)
        return change
