"""Payment versus payment (issue 16).

- Registry kinds `institution` (another bank's token wallet) and `fx` (the bank's FX position
  wallet of a currency): `accounts.kind` widens from 10 to 16 characters ("institution" has 11).
- EVM: `evm_operations.carrier`, on a PvP credit leg the seq of the debit leg whose chain
  transaction (through the settlement contract) carries both; `evm_settlement`, the issuer's
  PvpSettlement contract that `ledger init` deploys.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("kind", existing_type=sa.String(10), type_=sa.String(16),
                           existing_nullable=False)
    # What a store already has is kept: a store set back to an older revision by hand (as the
    # upgrade tests do) is migrated again over its own tables.
    inspector = sa.inspect(op.get_bind())
    if "carrier" not in {c["name"] for c in inspector.get_columns("evm_operations")}:
        with op.batch_alter_table("evm_operations") as batch:
            batch.add_column(sa.Column("carrier", sa.BigInteger()))
    if inspector.has_table("evm_settlement"):
        return
    op.create_table(
        "evm_settlement",
        sa.Column("chain_id", sa.BigInteger(), primary_key=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("deployed_block", sa.BigInteger(), nullable=False),
        sa.Column("deploy_tx", sa.String(66)),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evm_settlement")
    with op.batch_alter_table("evm_operations") as batch:
        batch.drop_column("carrier")
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("kind", existing_type=sa.String(16), type_=sa.String(10),
                           existing_nullable=False)
