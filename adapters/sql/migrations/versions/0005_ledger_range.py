"""Ledger range: the token supply per currency, stored, so that a mint beyond the range the ledger
holds (bridge.money.LEDGER_MAX_UNITS) is refused before it is applied.

- `supply` (SQL ledger): minus the issuance postings, per currency;
- EVM ledger: the issuance account's available balance (`issuance:<CCY>` in `evm_available`),
  minus the supply that can be reached: the wallets' available balances (in-flight operations
  included) and the burns not confirmed yet.

Both are computed here from what a store holds already.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_HALF = 2**32


def _totals(column: str, table: str, where: str) -> dict[str, int]:
    """SUM(column) per currency, exact on SQLite too (see adapters.sql.statements.exact_sum)."""
    rows = op.get_bind().execute(sa.text(
        f"SELECT currency, SUM({column} / {_HALF}), SUM({column} - ({column} / {_HALF}) * {_HALF}) "
        f"FROM {table} WHERE {where} GROUP BY currency"))
    return {currency: int(high or 0) * _HALF + int(low or 0) for currency, high, low in rows}


def upgrade() -> None:
    supply = op.create_table(
        "supply",
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("supply", sa.BigInteger, nullable=False),
        sa.CheckConstraint("supply >= 0", name="ck_supply_not_negative"),
    )
    issued = _totals("amount", "postings", "holder LIKE 'issuance:%'")
    rows = [{"currency": c, "supply": -total} for c, total in sorted(issued.items()) if total]
    if rows:
        op.bulk_insert(supply, rows)
    available = sa.table("evm_available", sa.column("wallet", sa.String), sa.column("currency", sa.String),
                         sa.column("available", sa.BigInteger))
    held = _totals("available", "evm_available", "wallet NOT LIKE 'issuance:%'")
    # A burn in flight still holds its room in the supply until confirmed (adapters/evm/book.py).
    burning = _totals("amount", "evm_operations", "kind = 'burn' AND state IN ('planned', 'submitted')")
    reach = {c: held.get(c, 0) + burning.get(c, 0) for c in held.keys() | burning.keys()}
    rows = [{"wallet": f"issuance:{c}", "currency": c, "available": -total}
            for c, total in sorted(reach.items()) if total]
    if rows:
        op.bulk_insert(available, rows)


def downgrade() -> None:
    op.execute("DELETE FROM evm_available WHERE wallet LIKE 'issuance:%'")
    op.drop_table("supply")
