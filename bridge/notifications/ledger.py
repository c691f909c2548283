"""Which operations a unit of work settled: the bus hands the handler the unit's ledger wrapped
in `SettledOperations`, which notes every operation that took effect and is final at once (the
SQL ledger's; a chain's become final later, in its settlement round). A replay (REPLAYED), a
rejection and an operation still settling (ACSP) are not noted."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bridge.codes import Status
from bridge.operations import TokenOperation
from bridge.ports import APPLIED, Ledger, LedgerOutcome, MintClaim, UnitOfWork


class SettledOperations:
    """A ledger that notes what it settled. A proxy rather than a Ledger subclass: every other
    method (the port's, and any an adapter adds) goes to the wrapped ledger untouched."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.operations: list[TokenOperation] = []

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        outcome = self.ledger.apply(operation, claim)
        if outcome.result == APPLIED and outcome.status == Status.ACCEPTED_SETTLEMENT_COMPLETED:
            self.operations.append(operation)
        return outcome

    def __getattr__(self, name: str) -> object:
        return getattr(self.ledger, name)


@contextmanager
def settled_in(uow: UnitOfWork) -> Iterator[list[TokenOperation]]:
    """Within the block, `uow.ledger` notes what it settles, in the list given, in order."""
    ledger = uow.ledger
    noting = SettledOperations(ledger)
    uow.ledger = noting  # type: ignore[assignment] - a Ledger in all but name (a proxy)
    try:
        yield noting.operations
    finally:
        uow.ledger = ledger
