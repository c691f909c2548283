"""The store: account registry, double-entry ledger, inbox and outbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account", sa.String(70), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("wallet", sa.String(100)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
    )
    op.create_table(
        "operations",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("debit_wallet", sa.String(100)),
        sa.Column("credit_wallet", sa.String(100)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("message_id", sa.String(35)),
        sa.Column("end_to_end_id", sa.String(35)),
        sa.Column("transaction_id", sa.String(35)),
        sa.Column("uetr", sa.String(36)),
        sa.Column("instruction_id", sa.String(35)),
        sa.Column("account_servicer_ref", sa.String(35)),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("key", name="uq_operations_key"),
        sa.CheckConstraint("amount > 0", name="ck_operations_amount_positive"),
    )
    op.create_table(
        "postings",
        sa.Column("id", SEQ, primary_key=True, autoincrement=True),
        sa.Column("operation_seq", SEQ, sa.ForeignKey("operations.seq"), nullable=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("counterparty", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("posted_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_postings_holder_time", "postings", ["holder", "posted_at"])
    op.create_index("ix_postings_currency_time", "postings", ["currency", "posted_at"])
    op.create_table(
        "balances",
        sa.Column("wallet", sa.String(100), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        # A wallet never goes below zero, whatever the code above it does.
        sa.CheckConstraint("balance >= 0", name="ck_balances_not_negative"),
    )
    op.create_table(
        "inbox",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("message_type", sa.String(20)),
        sa.Column("message_id", sa.String(35)),
        sa.Column("business_message_id", sa.String(35)),
        sa.Column("sender", sa.String(11)),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("reply_id", sa.String(40)),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("correlation_id", sa.String(35)),
        sa.Column("message_type", sa.String(40), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("published_at", sa.DateTime),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "seq"])


def downgrade() -> None:
    for table in ("outbox", "inbox", "balances", "postings", "operations", "accounts"):
        op.drop_table(table)
