"""Holds on the EVM ledger: an operation row may be a hold's placing ("hold"), voiding ("void")
or the held payment executed (its own kind): `hold_ref` names the hold on chain (DepositToken
holds by bytes32 reference), `hold_expiry` the expiry the hold is placed with (unix seconds).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evm_operations") as table:
        table.add_column(sa.Column("hold_ref", sa.String(66)))
        table.add_column(sa.Column("hold_expiry", sa.BigInteger))
    op.create_index("ix_evm_operations_hold_ref", "evm_operations", ["hold_ref"])


def downgrade() -> None:
    op.drop_index("ix_evm_operations_hold_ref", "evm_operations")
    with op.batch_alter_table("evm_operations") as table:
        table.drop_column("hold_expiry")
        table.drop_column("hold_ref")
