"""Holds: value-dated and conditional payments reserve tokens until they settle or are voided.

`balances.held` is what holds reserve of each balance (available = balance - held, never
negative: a CHECK backs the ledger's own check); `holds` keeps each hold, its operation, terms
and how it ended.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("balances") as batch:
        batch.add_column(sa.Column("held", sa.BigInteger, nullable=False, server_default="0"))
        batch.create_check_constraint("ck_balances_held_within", "held >= 0 AND held <= balance")
    op.create_table(
        "holds",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("hold_kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
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
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("end_reason", sa.String(140)),
        sa.Column("ended_by", sa.String(100)),
        sa.Column("wrong_fulfilments", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_holds_state_expiry", "holds", ["state", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_holds_state_expiry", "holds")
    op.drop_table("holds")
    with op.batch_alter_table("balances") as batch:
        batch.drop_constraint("ck_balances_held_within", type_="check")
        batch.drop_column("held")
