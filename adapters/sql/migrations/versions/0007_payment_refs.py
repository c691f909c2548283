"""One payment, one mint: the payment references each mint claimed
(bridge.reconciliation.statement_mints).

The mints already stored claim theirs here, oldest first, so that a later road of the same
payment still finds them: a mint under a `ref:` key or with an AcctSvcrRef came from a
statement, any other from a pacs.008. Reversals (`rvsl:`) claim nothing.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from bridge.operations import MINT, PaymentRefs, TokenOperation
from bridge.ports import PAYMENT_ROAD, STATEMENT_ROAD
from bridge.reconciliation.statement_mints import REFERENCE_KEY_PREFIX, REVERSAL_KEY_PREFIX, mint_claim

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    refs = op.create_table(
        "payment_refs",
        sa.Column("reference", sa.String(200), primary_key=True),
        sa.Column("operation_key", sa.String(100), nullable=False),
        sa.Column("road", sa.String(10), nullable=False),
    )
    op.create_index("ix_payment_refs_operation_key", "payment_refs", ["operation_key"])
    connection = op.get_bind()
    held: set[str] = set()
    for table, order in (("operations", "seq"), ("evm_operations", "seq")):
        source = sa.table(table, *(sa.column(c) for c in (
            "seq", "key", "kind", "currency", "amount", "credit_wallet", "message_id",
            "end_to_end_id", "transaction_id", "uetr", "instruction_id", "account_servicer_ref")))
        rows = connection.execute(sa.select(source).where(source.c.kind == MINT)
                                  .order_by(source.c[order])).mappings()
        claims = []
        for row in rows:
            if row["key"].startswith(REVERSAL_KEY_PREFIX):
                continue
            from_statement = row["key"].startswith(REFERENCE_KEY_PREFIX) or row["account_servicer_ref"]
            operation = TokenOperation(
                row["key"], MINT, row["currency"], row["amount"], credit_wallet=row["credit_wallet"],
                refs=PaymentRefs(row["message_id"], row["end_to_end_id"], row["transaction_id"],
                                 row["uetr"], row["instruction_id"], row["account_servicer_ref"]))
            claim = mint_claim(operation, STATEMENT_ROAD if from_statement else PAYMENT_ROAD)
            for reference in claim.references:
                if reference not in held:  # the first claim stays
                    held.add(reference)
                    claims.append(dict(reference=reference, operation_key=operation.key, road=claim.road))
        for first in range(0, len(claims), 1000):
            connection.execute(refs.insert(), claims[first:first + 1000])


def downgrade() -> None:
    op.drop_index("ix_payment_refs_operation_key", table_name="payment_refs")
    op.drop_table("payment_refs")
