"""Payment returns (pacs.004): what came back of each original operation, and each return.

`payment_returns` holds one row per original returned from, its running total; a return adds to
it with a conditional update (never beyond the original), under the row's lock, in the unit of
work that applies the reversal. `return_entries` keeps each return (chained in the audit trail).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_returns",
        sa.Column("original_key", sa.String(100), primary_key=True),
        sa.Column("returned", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "return_entries",
        sa.Column("return_key", sa.String(100), primary_key=True),
        sa.Column("original_key", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(35), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("message_id", sa.String(35)),
        sa.Column("return_id", sa.String(35)),
        sa.Column("returned_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_return_entries_original_key", "return_entries", ["original_key"])


def downgrade() -> None:
    op.drop_index("ix_return_entries_original_key", "return_entries")
    op.drop_table("return_entries")
    op.drop_table("payment_returns")
