"""Registry `group`: the customer an account belongs to (a corporate's channel id), so that a
pain.001 from that channel may debit it and no other; the inbox's sender widened from a BIC to
a channel id.

Rows imported before have no group: no corporate may debit them until they are re-imported
with one.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("group", sa.String(256)))
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("sender", type_=sa.String(256), existing_type=sa.String(11))


def downgrade() -> None:
    # channel ids cut to what a BIC column holds
    op.execute("UPDATE inbox SET sender = SUBSTR(sender, 1, 11) WHERE LENGTH(sender) > 11")
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("sender", type_=sa.String(11), existing_type=sa.String(256))
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("group")
