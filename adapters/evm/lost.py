"""Operations a deep reorg took off the chain, as `status` and `audit verify` show them. Reads
the store only (no web3): the commands work wherever the store is, whatever the ledger's extras."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from adapters.evm.tables import evm_operations

_op = evm_operations.c

LOST = select(_op.key, _op.lost_at, _op.tx_hash).where(_op.lost_at.is_not(None)).order_by(_op.lost_at)
"""Operations answered ACSC that a deep reorg took off the chain, not found again yet."""


def lost_operations(connection: Connection) -> dict[str, datetime]:
    """Operations answered ACSC and no longer on the canonical chain (not found again yet), by
    key: when that was found (naive UTC, as stored). What `status` and `audit verify` show."""
    return {r.key: r.lost_at for r in connection.execute(LOST)}
