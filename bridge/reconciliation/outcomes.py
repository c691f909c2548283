"""What a reconciliation finds: the statuses of entries and ledger operations, the break
categories, and the outcome of every statement. The words are the report's: INTERFACE.md fixes
the break categories' names for `reconcile --json`, so the enums' values are those strings.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.operations import PaymentRefs, TokenOperation
from bridge.reconciliation.entries import StatementItem, StatementTotals
from bridge.reconciliation.matching import MatchBasis, Movement


class EntryStatus(StrEnum):
    """What an entry or a ledger operation turned out to be, when it is not a break."""

    MATCHED = "matched"
    MINTED = "minted"  # the statement caused a mint now
    REVERSED = "reversed"  # a reversal undid its operation (or cancelled its entry)
    PENDING = "pending"  # not booked: produces nothing
    WOULD_MINT = "would_mint"  # dry run
    WOULD_REVERSE = "would_reverse"
    PLANNED_MINT = "planned_mint"  # before the caller applies
    PLANNED_UNDO = "planned_undo"


class BreakCategory(StrEnum):
    """A difference someone must look at, exactly as INTERFACE.md names it."""

    MATCHED_WITH_DIFFERENCE = "matched_with_difference"
    MISSING_ON_LEDGER = "missing_on_ledger"
    MISSING_ON_STATEMENT = "missing_on_statement"
    DUPLICATE = "duplicate"
    UNAPPLIED_CREDIT = "unapplied_credit"
    BACKING_MISMATCH = "backing_mismatch"
    STATEMENT_INCONSISTENT = "statement_inconsistent"


Status = EntryStatus | BreakCategory
"""An entry's or an operation's outcome: a status, or the break it is."""


@dataclass(frozen=True, slots=True)
class ReconciledAccount:
    """What a statement is of: the omnibus account of a currency, or a registered wallet's."""

    kind: str  # OMNIBUS or WALLET, the registry's kinds (bridge.accounts)
    account: str
    currency: str
    wallet: str | None = None


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What one statement item turned out to be."""

    item: StatementItem
    status: Status
    movement: Movement | None = None  # the ledger operation it matched (or caused)
    basis: MatchBasis | None = None  # which reference matched
    operation: TokenOperation | None = None  # the operation it causes (planned or applied)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    """What one ledger operation on the account turned out to be."""

    movement: Movement
    status: Status  # matched, missing_on_statement or duplicate
    entry_index: int | None = None
    in_period: bool = True


@dataclass(frozen=True, slots=True)
class Break:
    """A difference someone must look at, with the payment's references where it has them."""

    category: BreakCategory
    reason: str
    currency: str
    entry_index: int | None = None
    detail_index: int | None = None
    amount: int | None = None  # minor units
    credit: bool | None = None
    refs: PaymentRefs | None = None
    operation_key: str | None = None
    figures: tuple[tuple[str, int], ...] = ()  # named amounts in minor units


@dataclass(frozen=True, slots=True)
class StatementReconciliation:
    """One statement, reconciled."""

    message_id: str
    statement_id: str
    account: ReconciledAccount
    start: datetime | None
    end: datetime | None
    totals: StatementTotals | None  # None when the statement does not add up
    entries: tuple[EntryOutcome, ...] = ()
    operations: tuple[OperationOutcome, ...] = ()
    breaks: tuple[Break, ...] = ()
    ledger_opening: int | None = None  # supply (omnibus) or wallet balance at the start
    ledger_closing: int | None = None  # ... at the end
    in_flight: int = 0  # operations for this statement's entries that the ledger posts after its end
    statement_series: tuple[tuple[datetime, int], ...] = ()
    ledger_series: tuple[tuple[datetime, int], ...] = ()

    @property
    def clean(self) -> bool:
        return not self.breaks

    @property
    def refused(self) -> bool:
        """A statement that does not add up is refused: nothing of it is applied."""
        return self.totals is None


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """Every statement of one camt.053 message (or of several, for a command line run)."""

    statements: tuple[StatementReconciliation, ...]
    generated_at: datetime
    dry_run: bool = False

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.statements)

    @property
    def breaks(self) -> list[Break]:
        return [b for s in self.statements for b in s.breaks]
