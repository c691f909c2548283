"""Registry identity: an `Othr/Id` is an account only together with its scheme and issuer, and
identifiers are stored as they are compared (no whitespace, upper case).

Rows imported before this revision have no scheme or issuer: an `Othr/Id` registered so is
matched only by messages that name none either; re-import such rows with their `scheme` and
`issuer`. Two rows that differ only in case make this revision fail: resolve them first.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("scheme", sa.String(41)))
        batch.add_column(sa.Column("issuer", sa.String(35)))
    # Imports already dropped spaces; case is folded now, as lookups fold it.
    op.execute("UPDATE accounts SET account = UPPER(account) WHERE account <> UPPER(account)")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("issuer")
        batch.drop_column("scheme")
