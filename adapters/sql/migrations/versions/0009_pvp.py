"""Registry kinds `institution` (another bank's token wallet) and `fx` (the bank's FX position
wallet of a currency): `accounts.kind` widens from 10 to 16 characters ("institution" has 11).

Revision ID: 0009_pvp
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_pvp"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("kind", existing_type=sa.String(10), type_=sa.String(16),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("kind", existing_type=sa.String(16), type_=sa.String(10),
                           existing_nullable=False)
