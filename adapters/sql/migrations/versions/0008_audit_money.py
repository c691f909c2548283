"""Audit chain covers the money: each operation's postings get a link of their own, and so does
each EVM operation's instruction (balances and supply are recomputed from the postings by
`audit verify`, not chained).

The postings and EVM operations already in the store are linked here, once, in the order they
were written, as they are now: tampering from before this revision is left to the checks that
need no chain (every posting one of its operation's two legs, balances and supply equal to the
postings' sums).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from adapters.evm.tables import evm_operations
    from adapters.sql import audit
    from adapters.sql.tables import operations
    from bridge.audit import EVM_OPERATION, POSTINGS, postings_digest
    connection = op.get_bind()
    legs = audit.stored_postings(connection)
    for row in connection.execute(sa.select(operations).order_by(operations.c.seq)):
        audit.record_digest(connection, POSTINGS, row.key,
                            postings_digest(leg.content() for leg in legs.get(row.seq, ())))
    # The certified columns only: later revisions add columns this one must not select.
    certified = [evm_operations.c[name] for name in audit.EVM_OPERATION_FIELDS]
    for row in connection.execute(sa.select(*certified).order_by(evm_operations.c.seq)):
        audit.record(connection, EVM_OPERATION, row.key, audit.certified(EVM_OPERATION, row))
    audit.flush(connection)


def downgrade() -> None:
    """Links are never taken out of the chain (that would break it): the new links stay, and
    the code of 0004 would report them as certifying rows it does not know."""
