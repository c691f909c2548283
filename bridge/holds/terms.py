"""What a hold is: its terms (why it waits, until when), its state, and how it ended."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.operations import TokenOperation


class HoldKind(StrEnum):
    """Why a payment is held."""

    VALUE_DATED = "value_dated"  # settles at the start of its settlement date
    CONDITIONAL = "conditional"  # settles when its hashlock is fulfilled (or an operator releases it)


class HoldState(StrEnum):
    """A hold is held, then ends exactly once: executed or voided."""

    HELD = "held"
    EXECUTED = "executed"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class HoldTerms:
    """When a hold ends by itself: a value-dated one is executed at `expiry` (the start of its
    settlement date), a conditional one voided at `expiry`; `sha256` is a conditional payment's
    hashlock (hex, lower case)."""

    kind: HoldKind
    expiry: datetime  # aware
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A payment held on the ledger. `operation` is what executing it applies; a mint has no
    debtor wallet, so it reserves nothing (a scheduled mint: `reserved` 0)."""

    operation: TokenOperation
    terms: HoldTerms
    state: HoldState = HoldState.HELD
    created_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None  # an ISO status reason (voided) or why it was released
    ended_by: str | None = None  # schedule, fulfilment, operator:<name>, cancellation:<request>
    wrong_fulfilments: int = 0  # releases refused for a fulfilment that does not hash to the lock

    @property
    def key(self) -> str:
        return self.operation.key

    @property
    def reserved(self) -> int:
        """Minor units it keeps from other debits of the debtor's wallet."""
        return self.operation.amount if self.state == HoldState.HELD and self.operation.debit_wallet else 0


@dataclass(frozen=True, slots=True)
class HoldEnding:
    """How a hold ends: executed or voided, why, by whom, when."""

    state: HoldState
    reason: str | None
    by: str
    at: datetime
