"""Payment references claimed by mints, in the store (table `payment_refs`): one payment, one
mint (bridge.reconciliation.statement_mints), for the SQL and the EVM ledger alike.

A unit of work reads the claims it needs once (cached), sees its own claims at once, and sends
them with INSERT .. ON CONFLICT DO NOTHING in one fixed order (concurrent units cannot
deadlock on them). A reference some mint holds already stays that mint's. When a concurrent
unit committed a claim this one conflicts with (bridge.ports.claims_conflict) after this unit
looked, the insert finds it under the primary key (PostgreSQL waits for the other unit to
end) and the unit fails with ClaimTakenMeanwhile, a transient error: its retry sees the claim.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from sqlalchemy import Connection, bindparam, select

from adapters.sql import bulk, statements
from adapters.sql.tables import payment_refs
from bridge.ports import MintClaim, PaymentClaim, claims_conflict

FIND_CLAIMS = select(payment_refs).where(
    payment_refs.c.reference.in_(bindparam("references", expanding=True)))


@cache
def _claim(dialect: str):
    return (statements.insert_for(dialect)(payment_refs)
            .on_conflict_do_nothing(index_elements=["reference"]).returning(payment_refs.c.reference))


class ClaimTakenMeanwhile(RuntimeError):
    """A concurrent unit of work claimed a reference of this unit's mint first: retry the unit
    (SqlStore.is_transient); the retry finds the claim and mints nothing."""


class Claims:
    """The claims one unit of work reads and makes."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._held: dict[str, PaymentClaim | None] = {}  # read (None: free) or claimed here
        self._pending: list[PaymentClaim] = []  # claimed by this unit, not yet sent

    def read(self, references: Iterable[str]) -> None:
        """Read the claims on `references` not known yet, in one query per 500."""
        held = self._held  # a lookup each: `set - keys` would walk every claim this unit knows
        missing = sorted({reference for reference in references if reference not in held})
        for chunk in statements.chunks(missing):
            found = {r.reference: _claim_of(r) for r in
                     self.connection.execute(FIND_CLAIMS, {"references": chunk})}
            self._held.update({reference: found.get(reference) for reference in chunk})

    def find(self, references: Sequence[str]) -> list[PaymentClaim]:
        self.read(references)
        return [held for reference in dict.fromkeys(references)
                if (held := self._held[reference]) is not None]

    def conflict(self, claim: MintClaim) -> PaymentClaim | None:
        """A claim this unit can see that makes `claim`'s mint another road of its payment."""
        return next((held for held in self.find(claim.references)
                     if claims_conflict(claim.road, held.road)), None)

    def hold(self, operation_key: str, claim: MintClaim) -> None:
        """Claim the references nobody holds (after `conflict` said none conflicts)."""
        self.read(claim.references)
        for reference in dict.fromkeys(claim.references):
            if self._held[reference] is None:
                held = self._held[reference] = PaymentClaim(reference, operation_key, claim.road)
                self._pending.append(held)

    def send(self) -> None:
        """Insert this unit's claims; ClaimTakenMeanwhile when another unit took one first."""
        pending, self._pending = sorted(self._pending, key=lambda c: c.reference), []
        if not pending:
            return
        rows = [dict(reference=c.reference, operation_key=c.operation_key, road=c.road) for c in pending]
        taken = {reference for reference, in bulk.insert_returning(
            self.connection, _claim(self.connection.dialect.name), rows)}
        lost = [c for c in pending if c.reference not in taken]
        if not lost:
            return
        holders = {r.reference: _claim_of(r) for r in self.connection.execute(
            FIND_CLAIMS, {"references": [c.reference for c in lost]})}
        for mine in lost:
            holder = holders.get(mine.reference)
            if holder is None or claims_conflict(mine.road, holder.road):
                raise ClaimTakenMeanwhile(f"payment reference {mine.reference} of {mine.operation_key} "
                                          f"was claimed meanwhile by {holder.operation_key if holder else '?'}")
            self._held[mine.reference] = holder  # another pacs.008's: it keeps it


def _claim_of(row) -> PaymentClaim:
    return PaymentClaim(row.reference, row.operation_key, row.road)
