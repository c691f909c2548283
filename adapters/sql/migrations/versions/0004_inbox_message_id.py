"""Inbox by MsgId: a settlement that becomes final after the answer (EVM ledger) is reported in a
follow-up pacs.002, which needs the original pacs.008 back from its MsgId.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbox_message_id", "inbox", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_message_id", table_name="inbox")
