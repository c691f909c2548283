"""Finality: an operation whose Settled event is `confirmations` blocks deep, in a block still
canonical, is confirmed (ACSC); each change is reported once, in the transaction that records
it, even with several settlers at the same time (the update names the state it expects).
"""
from __future__ import annotations

from datetime import UTC, datetime

import structlog

from adapters.evm.book import ACSC, ACSP, StatusChange, operation_of, settled_burn
from adapters.evm.chain import TokenChain
from adapters.evm.settlement import queries
from adapters.evm.settlement.scanning import rescan_reorged
from adapters.evm.tables import HOLD, VOID
from adapters.sql.ledger import utc_naive
from adapters.sql.store import SqlStore
from bridge.ports import ChangeReport

log = structlog.get_logger("tokenbridge.evm")


class Confirmation:
    """Confirms what is deep enough."""

    def __init__(self, store: SqlStore, chain: TokenChain, confirmations: int,
                 report: ChangeReport) -> None:
        self.store = store
        self.chain = chain
        self.confirmations = max(1, confirmations)
        self.report = report
        self.reorged = False  # the last round found a mined operation's block replaced

    def confirm(self, latest: int) -> list[StatusChange]:
        """Confirm the operations mined `confirmations` blocks deep by `latest`: their changes."""
        deep = latest - self.confirmations + 1
        self.reorged = False
        with self.store.engine.connect() as connection:
            rows = connection.execute(queries.MINED_BY, {"deep": deep}).all()
        if not rows:
            return []
        canonical = self.chain.block_hashes(r.block_number for r in rows)
        changes = []
        with self.store.transaction() as transaction:
            connection = transaction.connection
            for row in rows:
                if canonical.get(row.block_number) != row.block_hash:
                    rescan_reorged(connection, row)
                    self.reorged = True
                    continue
                when = datetime.fromtimestamp(self.chain.block_time(row.block_hash), UTC)
                done = connection.execute(queries.CONFIRM, {"row": row.seq, "settled_at": utc_naive(when)})
                if done.rowcount == 1 and row.kind not in (HOLD, VOID):  # a hold's rows answer nothing
                    settled_burn(connection, row)
                    changes.append(StatusChange(row.key, operation_of(row), ACSP, ACSC, None, None,
                                                row.tx_hash, row.block_number, when,
                                                cancellation=row.cancel_requested_by))
            if changes:
                self.report(transaction, changes)
        if changes:
            log.info("evm.confirmed", count=len(changes), up_to_block=deep)
        return changes
