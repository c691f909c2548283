"""The EVM ledger's tables in the bridge's store (SQLAlchemy Core; created by Alembic 0002).

The chain cannot join a database transaction, so the store keeps what the bridge has asked of
the chain: each operation's state (planned, submitted, confirmed, failed) with its transaction,
the issuer's next nonce, the deployed contracts, and available balances that count operations
still in flight (so that AM04 is decided at once, as on the SQL ledger).
"""
from __future__ import annotations

from sqlalchemy import (
                        BigInteger,
                        Column,
                        DateTime,
                        Index,
                        Integer,
                        LargeBinary,
                        MetaData,
                        String,
                        Table,
                        Text,
)

metadata = MetaData()

Sequence = BigInteger().with_variant(Integer(), "sqlite")

PLANNED, SUBMITTED, CONFIRMED, FAILED = "planned", "submitted", "confirmed", "failed"
HOLD, VOID = "hold", "void"  # kinds of the rows that place and end a hold on chain (not payments)
CANCELLED = "cancelled"  # on request (camt.056), before it took effect: it never will

evm_contracts = Table(
    "evm_contracts", metadata,
    Column("currency", String(3), primary_key=True),
    Column("address", String(42), nullable=False, unique=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("deployed_block", BigInteger, nullable=False),
    Column("deploy_tx", String(66)),
    # The deployment block's hash: a node with a fresh chain (same id) has another, or none.
    Column("deployed_block_hash", String(66)),
    Column("scanned_block", BigInteger, nullable=False),  # Settled events read up to here
    Column("recorded_at", DateTime, nullable=False),
)

evm_operations = Table(
    "evm_operations", metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False, unique=True),
    Column("payment_ref", String(66), nullable=False, unique=True),  # 0x + sha256(key)
    Column("kind", String(10), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("debit_wallet", String(100)),
    Column("credit_wallet", String(100)),
    Column("fingerprint", String(64), nullable=False),
    Column("message_id", String(35)),
    Column("end_to_end_id", String(35)),
    Column("transaction_id", String(35)),
    Column("uetr", String(36)),
    Column("instruction_id", String(35)),
    Column("account_servicer_ref", String(35)),
    Column("state", String(10), nullable=False),
    Column("reason", String(4)),  # ISO reason when failed
    Column("info", Text),
    Column("nonce", BigInteger),
    Column("tx_hash", String(66)),
    Column("raw_tx", LargeBinary),  # the signed transaction: re-broadcast byte for byte
    Column("gas_limit", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("block_number", BigInteger),  # where its Settled event is, once mined
    Column("block_hash", String(66)),
    Column("planned_at", DateTime, nullable=False),
    Column("submitted_at", DateTime),
    Column("settled_at", DateTime),  # confirmed: the block's time; failed, cancelled: when decided
    # A cancellation asked while submitted (the camt.056's digest), and the no-op transaction
    # signed with the operation's nonce to take its place (adapters/evm/settlement/cancelling.py).
    Column("cancel_requested_by", String(100)),
    Column("cancel_tx_hash", String(66)),
    Column("cancel_raw_tx", LargeBinary),
    # A PvP credit leg rides in its debit leg's transaction (0014): the debit leg's seq.
    Column("carrier", BigInteger),
    # Confirmed (answered ACSC), then its event left the canonical chain: a reorg deeper than
    # the confirmation depth. Alerted; cleared once the chain holds it again (reorg.py).
    Column("lost_at", DateTime),
    # Holds (0017): the hold on chain a "hold" or "void" row places or ends, or that a held
    # payment's row executes; the expiry a hold is placed with (unix seconds).
    Column("hold_ref", String(66)),
    Column("hold_expiry", BigInteger),
    Index("ix_evm_operations_state", "state", "seq"),
    Index("ix_evm_operations_hold_ref", "hold_ref"),
    Index("ix_evm_operations_nonce", "nonce"),
)

evm_settlement = Table(
    "evm_settlement", metadata,  # the issuer's PvpSettlement contract (0014); one row at most
    Column("chain_id", BigInteger, primary_key=True),
    Column("address", String(42), nullable=False),
    Column("deployed_block", BigInteger, nullable=False),
    Column("deploy_tx", String(66)),
    Column("recorded_at", DateTime, nullable=False),
)

evm_senders = Table(
    "evm_senders", metadata,
    Column("address", String(42), primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("next_nonce", BigInteger, nullable=False),
)

evm_available = Table(
    "evm_available", metadata,
    Column("wallet", String(100), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("available", BigInteger, nullable=False),
)
