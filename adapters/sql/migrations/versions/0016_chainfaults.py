"""Chain faults: the hash of each token's deployment block (a node that comes back with a fresh
chain under the same chain id is told apart by it), and when an operation answered ACSC was
found no longer on the canonical chain (a reorg deeper than the confirmation depth).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evm_contracts") as table:
        table.add_column(sa.Column("deployed_block_hash", sa.String(66)))
    with op.batch_alter_table("evm_operations") as table:
        table.add_column(sa.Column("lost_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("evm_operations") as table:
        table.drop_column("lost_at")
    with op.batch_alter_table("evm_contracts") as table:
        table.drop_column("deployed_block_hash")
