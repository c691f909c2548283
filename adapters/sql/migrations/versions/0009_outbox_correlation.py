"""Outbox messages found by the original they are about (correlation_id): `tokenbridge status`
lists every message sent about a payment (reply, follow-ups, returns, notifications).

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_correlation", "outbox", ["correlation_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_correlation", table_name="outbox")
