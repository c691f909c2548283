"""Audit chain: a hash-chained link for every inbox record and ledger operation.

Rows written before this revision are linked here, in the order they were written.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"  # the EVM migration (0002) has landed in the tree
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_links",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(10), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
    )
    from adapters.sql import audit
    from adapters.sql.tables import audit_head, inbox, operations
    from bridge.audit import GENESIS, INBOX, OPERATION
    connection = op.get_bind()
    connection.execute(audit_head.insert().values(id=1, hash=GENESIS, length=0))
    existing = [(r.received_at, INBOX, r.digest, audit.certified(INBOX, r))
                for r in connection.execute(sa.select(inbox).where(inbox.c.verdict != "claimed"))]
    existing += [(r.applied_at, OPERATION, r.key, audit.certified(OPERATION, r))
                 for r in connection.execute(sa.select(operations))]
    for _, entity, reference, fields in sorted(existing, key=lambda item: (item[0], item[1])):
        audit.record(connection, entity, reference, fields)
    audit.flush(connection)


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_links")
