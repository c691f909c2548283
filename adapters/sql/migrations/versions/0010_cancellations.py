"""EVM operations can be cancelled on request (camt.056): the state `cancelled`, who asked, and
the no-op transaction that takes a submitted operation's nonce.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


STATES = "state IN ('planned', 'submitted', 'confirmed', 'failed'{})"


def upgrade() -> None:
    # One change per batch: SQLite's batch mode copies the table for each.
    for column in (sa.Column("cancel_requested_by", sa.String(100)), sa.Column("cancel_tx_hash", sa.String(66)),
                   sa.Column("cancel_raw_tx", sa.LargeBinary())):
        with op.batch_alter_table("evm_operations") as batch:
            batch.add_column(column)
    _states(", 'cancelled'")


def downgrade() -> None:
    _states("")
    for column in ("cancel_raw_tx", "cancel_tx_hash", "cancel_requested_by"):
        with op.batch_alter_table("evm_operations") as batch:
            batch.drop_column(column)


def _states(extra: str) -> None:
    with op.batch_alter_table("evm_operations") as batch:
        batch.drop_constraint("ck_evm_operations_state", type_="check")
        batch.create_check_constraint("ck_evm_operations_state", STATES.format(extra))
