"""What the chain did: `Settled` events since the last scan say which references it applied
and where; a transaction whose nonce the chain used without such an event is looked up by its
receipt; a block that left the canonical chain (a reorg) is scanned again.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import structlog
from sqlalchemy import Connection, Row

from adapters.evm.chain import SettledLog, TokenChain
from adapters.evm.errors import DUPLICATE_REASON, RETRY, Verdict
from adapters.evm.settlement import queries
from adapters.evm.settlement.operations import pvp_partner, same_content, transaction_of
from adapters.evm.settlement.verdicts import Verdicts
from adapters.evm.tables import CONFIRMED, FAILED
from adapters.sql.store import SqlStore
from adapters.sql.transaction import SqlTransaction

log = structlog.get_logger("tokenbridge.evm")

ROW_BATCH = 500
"""Rows read or matched per query."""

T = TypeVar("T")


class Scanner:
    """Reads the chain's word on submitted operations into the store."""

    def __init__(self, store: SqlStore, chain: TokenChain, verdicts: Verdicts) -> None:
        self.store = store
        self.chain = chain
        self.verdicts = verdicts

    def scan(self, latest: int) -> None:
        """Read Settled events since the last scan; note where each of ours was mined."""
        with self.store.engine.connect() as connection:
            tokens = connection.execute(queries.TOKENS).all()
        if not tokens:
            return
        start = min(t.scanned_block for t in tokens) + 1
        if start > latest:
            return
        by_token = {t.address: t.currency for t in tokens}
        logs = self.chain.settled_logs(by_token, start, latest)
        with self.store.transaction() as transaction:
            connection = transaction.connection
            for chunk in _chunks(logs, ROW_BATCH):
                rows = {r.payment_ref: r for r in connection.execute(
                    queries.BY_PAYMENT_REFS, {"refs": [s.payment_ref for s in chunk]})}
                for settled in chunk:
                    row = rows.get(settled.payment_ref)
                    if row is not None:
                        self._note_mined(transaction, row, settled, by_token[settled.token])
            connection.execute(queries.SCANNED_TO, {"block": latest})

    def _note_mined(self, transaction: SqlTransaction, row: Row, settled: SettledLog,
                    currency: str) -> None:
        if row.state == CONFIRMED or row.block_number == settled.block_number:
            return
        if not same_content(row, settled, currency):
            log.error("evm.reference_taken", key=row.key, tx_hash=settled.tx_hash,
                      info="another operation settled under this payment reference")
            if row.state != FAILED:
                self.verdicts.fail(transaction, row, DUPLICATE_REASON,
                                   f"payment reference {row.payment_ref} was used on chain by "
                                   f"{settled.tx_hash} for a different operation")
            return
        if row.state == FAILED:  # should never happen: the chain did what we had given up on
            log.error("evm.failed_operation_settled", key=row.key, tx_hash=settled.tx_hash)
            return
        transaction.connection.execute(queries.MARK_MINED, {
            "row": row.seq, "block_number": settled.block_number, "block_hash": settled.block_hash,
            "tx_hash": settled.tx_hash})

    def resolve_used_nonce(self, row: Row) -> None:
        """The chain used this transaction's nonce, yet no Settled event names its reference."""
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None and receipt["status"] == 1:
            return  # mined after our scan: the next round's scan finds its event
        if receipt is not None:
            with self.store.engine.connect() as connection:
                to, data = transaction_of(connection, self.chain, row, pvp_partner(connection, row))
            verdict = self.chain.failure_verdict(receipt, row.gas_limit, to, data)
        elif self.chain.is_known(row.tx_hash):
            return  # the node still has it (its receipt is not indexed yet): next round
        else:
            verdict = Verdict(RETRY, info=f"nonce {row.nonce} was used by another transaction")
        self.verdicts.decide(row.tx_hash, verdict, nonce_consumed=True)


def rescan_reorged(connection: Connection, row: Row) -> None:
    """The block of an operation's event is no longer canonical (a reorg): forget where it was
    mined and scan again from that block, where the event is found again or not."""
    log.warning("evm.reorg", key=row.key, block=row.block_number)
    connection.execute(queries.UNMINED, {"row": row.seq})
    connection.execute(queries.RESCAN_FROM, {"block": row.block_number, "before": row.block_number - 1})


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
