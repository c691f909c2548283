"""The EVM ledger's state in the store: contracts, operations with their transactions, the
issuer's nonce, available balances.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evm_contracts",
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("deployed_block", sa.BigInteger, nullable=False),
        sa.Column("deploy_tx", sa.String(66)),
        sa.Column("scanned_block", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("address", name="uq_evm_contracts_address"),
    )
    op.create_table(
        "evm_operations",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("payment_ref", sa.String(66), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("debit_wallet", sa.String(100)),
        sa.Column("credit_wallet", sa.String(100)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(35)),
        sa.Column("end_to_end_id", sa.String(35)),
        sa.Column("transaction_id", sa.String(35)),
        sa.Column("uetr", sa.String(36)),
        sa.Column("instruction_id", sa.String(35)),
        sa.Column("account_servicer_ref", sa.String(35)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(4)),
        sa.Column("info", sa.Text),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("raw_tx", sa.LargeBinary),
        sa.Column("gas_limit", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("block_hash", sa.String(66)),
        sa.Column("planned_at", sa.DateTime, nullable=False),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("settled_at", sa.DateTime),
        sa.UniqueConstraint("key", name="uq_evm_operations_key"),
        sa.UniqueConstraint("payment_ref", name="uq_evm_operations_payment_ref"),
        sa.CheckConstraint("amount > 0", name="ck_evm_operations_amount_positive"),
        sa.CheckConstraint("state IN ('planned', 'submitted', 'confirmed', 'failed')",
                           name="ck_evm_operations_state"),
    )
    op.create_index("ix_evm_operations_state", "evm_operations", ["state", "seq"])
    op.create_index("ix_evm_operations_nonce", "evm_operations", ["nonce"])
    op.create_table(
        "evm_senders",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("next_nonce", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "evm_available",
        sa.Column("wallet", sa.String(100), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("available", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_evm_operations_nonce", table_name="evm_operations")
    op.drop_index("ix_evm_operations_state", table_name="evm_operations")
    for table in ("evm_available", "evm_senders", "evm_operations", "evm_contracts"):
        op.drop_table(table)
