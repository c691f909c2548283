"""What the chain did: `Settled` events since the last scan say which references it applied
and where; a transaction whose nonce the chain used without such an event is looked up by its
receipt; a block that left the canonical chain (a reorg) is scanned again.
"""
from __future__ import annotations

import structlog
from sqlalchemy import Connection, Row

from adapters.evm.chain import SettledLog, TokenChain
from adapters.evm.errors import DUPLICATE_REASON, RETRY, Verdict
from adapters.evm.settlement import queries
from adapters.evm.settlement.operations import pvp_partner, same_content, token_address, transaction_of
from adapters.evm.settlement.verdicts import Verdicts
from adapters.evm.tables import CONFIRMED, FAILED, VOID
from adapters.sql.statements import chunks
from adapters.sql.store import SqlStore
from adapters.sql.transaction import SqlTransaction

log = structlog.get_logger("tokenbridge.evm")

ROW_BATCH = 500
"""Rows read or matched per query."""


class Scanner:
    """Reads the chain's word on submitted operations into the store."""

    def __init__(self, store: SqlStore, chain: TokenChain, verdicts: Verdicts,
                 confirmations: int = 1) -> None:
        self.store = store
        self.chain = chain
        self.verdicts = verdicts
        self.confirmations = max(1, confirmations)
        # tx hash -> the head when its nonce was first seen used by another transaction: planned
        # again only `confirmations` blocks later (a reorg may still drop the other one).
        self._taken_at: dict[str, int] = {}

    def forget_taken(self, used: set[str]) -> None:
        """Forget the transactions whose nonce is no longer used (a reorg gave it back)."""
        for tx_hash in self._taken_at.keys() - used:
            del self._taken_at[tx_hash]

    def scan(self, latest: int) -> None:
        """Read Settled events since the last scan, and those of the blocks not yet
        `confirmations` deep again (a reorg may have put ours there since); note where each
        of ours was mined."""
        with self.store.engine.connect() as connection:
            tokens = connection.execute(queries.TOKENS).all()
        if not tokens:
            return
        start = min(min(t.scanned_block for t in tokens) + 1, max(0, latest - self.confirmations + 1))
        if start > latest:
            return
        by_token = {t.address: t.currency for t in tokens}
        logs = sorted(self.chain.settled_logs(by_token, start, latest)
                      + self.chain.hold_logs(by_token, start, latest),
                      key=lambda s: (s.block_number, s.log_index))
        with self.store.transaction() as transaction:
            connection = transaction.connection
            for chunk in chunks(logs, ROW_BATCH):
                rows = {r.payment_ref: r for r in connection.execute(
                    queries.BY_PAYMENT_REFS, {"refs": [s.payment_ref for s in chunk]})}
                voids = [s.payment_ref for s in chunk if s.kind == VOID]  # named by the hold's ref
                ending = {r.hold_ref: r for r in connection.execute(
                    queries.VOIDS_OF, {"refs": voids})} if voids else {}
                for settled in chunk:
                    row = (ending if settled.kind == VOID else rows).get(settled.payment_ref)
                    if row is not None:
                        self._note_mined(transaction, row, settled, by_token[settled.token])
            connection.execute(queries.SCANNED_TO, {"block": latest})

    def _note_mined(self, transaction: SqlTransaction, row: Row, settled: SettledLog,
                    currency: str) -> None:
        if row.state == CONFIRMED or row.block_hash == settled.block_hash:
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

    def resolve_used_nonce(self, row: Row, latest: int) -> None:
        """The chain used this transaction's nonce, yet no Settled event read so far names its
        reference: its receipt says where it went (a reorg may have put it in a block the scan
        had passed, or one block earlier). A revert is decided only `confirmations` deep, as a
        success is: a reorg may still run it in another block."""
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None and receipt["status"] == 1:
            self._mined_by_receipt(row, receipt)
            return
        if receipt is not None:
            if int(receipt["blockNumber"]) > latest - self.confirmations + 1:
                return  # not final yet: the next rounds look again
            with self.store.engine.connect() as connection:
                to, data = transaction_of(connection, self.chain, row, pvp_partner(connection, row))
            verdict = self.chain.failure_verdict(receipt, row.gas_limit, to, data)
        elif self.chain.is_known(row.tx_hash):
            return  # the node still has it (its receipt is not indexed yet): next round
        elif latest - self._taken_at.setdefault(row.tx_hash, latest) + 1 < self.confirmations:
            return  # taken by another sender, not final yet: a reorg may still run ours
        else:
            self._taken_at.pop(row.tx_hash, None)
            verdict = Verdict(RETRY, info=f"nonce {row.nonce} was used by another transaction")
        self.verdicts.decide(row.tx_hash, verdict, nonce_consumed=True)

    def _mined_by_receipt(self, row: Row, receipt) -> None:
        """Its Settled event, read from its receipt, noted as the scan would have."""
        with self.store.engine.connect() as connection:
            token = token_address(connection, row.currency)
        found = [s for s in self.chain.receipt_settled_logs(receipt, token)
                 if (s.payment_ref, s.kind == VOID) == ((row.hold_ref, True) if row.kind == VOID
                                                        else (row.payment_ref, False))]
        if not found:  # mined, did not revert, settled nothing: the token is not there
            self.verdicts.decide(row.tx_hash, Verdict(
                RETRY, info=f"transaction {row.tx_hash} succeeded without a Settled event"),
                nonce_consumed=True)
            return
        with self.store.transaction() as transaction:
            current = transaction.connection.execute(queries.BY_PAYMENT_REFS, {"refs": [row.payment_ref]}).first()
            if current is not None:
                self._note_mined(transaction, current, found[0], row.currency)


def rescan_reorged(connection: Connection, row: Row) -> None:
    """The block of an operation's event is no longer canonical (a reorg): forget where it was
    mined and scan again from that block, where the event is found again or not."""
    log.warning("evm.reorg", key=row.key, block=row.block_number)
    connection.execute(queries.UNMINED, {"row": row.seq})
    connection.execute(queries.RESCAN_FROM, {"block": row.block_number, "before": row.block_number - 1})
