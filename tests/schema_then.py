"""Running today's SQL ledger on a store migrated only part of the way (an upgrade test's
"before"): the code of then had no holds (migration 0015), so no `held` column and no `holds`
table are read."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, literal, select

from adapters.sql import holds as held_rows
from adapters.sql import ledger as sql_ledger
from adapters.sql.tables import balances


def without_holds(patched) -> None:
    """Patch (a pytest monkeypatch) the ledger to read no holds."""
    lock_then = (select(balances.c.wallet, balances.c.currency, balances.c.balance, literal(0).label("held"))
                 .where(and_(balances.c.wallet.in_(bindparam("wallets", expanding=True)),
                             balances.c.currency.in_(bindparam("currencies", expanding=True))))
                 .with_for_update())
    patched.setattr(sql_ledger.statements, "LOCK_BALANCES", lock_then)
    patched.setattr(held_rows, "read_holds", lambda connection, keys: {})
