"""The ports: what the core needs from the outside, as small abstract classes.

Adapters implement them (SQL store and ledger, EVM ledger, ...); tests may use fakes. A unit of
work groups the registry, ledger, inbox and outbox so that a message's effects and its reply
commit together or not at all. A ledger adapter is a plugin (`LedgerPlugin`, at the end): it
makes the ledger of each unit of work from the store's transaction, and may settle later, set
itself up or describe itself (small protocols of their own).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Protocol, runtime_checkable

from bridge.accounts import ACTIVE, RegisteredAccount
from bridge.codes import Reason, Status
from bridge.holds.terms import Hold, HoldEnding, HoldState, HoldTerms
from bridge.messages import InboundRecord, OutboundMessage, SentMessage
from bridge.operations import PaymentRefs, Rejection, TokenOperation
from bridge.settlement.changes import SettlementChange

APPLIED = "applied"  # the operation took effect now
REPLAYED = "replayed"  # the same key and content was applied before: no new effect

# The roads by which one payment reaches the bridge (one payment, one mint).
PAYMENT_ROAD = "payment"  # its pacs.008
STATEMENT_ROAD = "statement"  # the booked credit on the omnibus statement
COVER_ROAD = "cover"  # a pacs.009 cover payment of it (its UndrlygCstmrCdtTrf)


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """What applying one operation did: applied, replayed, or rejected (AM04, AM05, ...)."""

    result: str  # applied, replayed or rejected
    rejection: Rejection | None = None
    status: str = Status.ACCEPTED_SETTLEMENT_COMPLETED  # of an applied/replayed operation (ACSP while unfinal)

    @classmethod
    def rejected(cls, reason: str, info: str) -> "LedgerOutcome":
        return cls("rejected", Rejection(reason, info), Status.REJECTED)


def combine_legs(outcomes: Sequence[LedgerOutcome]) -> LedgerOutcome:
    """What applying the legs of one payment together came to (`Ledger.apply_together`): the
    first rejection; else REPLAYED when every leg was applied before, APPLIED when every leg
    took effect now; a mix (some legs known, others not) is another payment under the same
    keys: rejected AM05. The ledger undoes every leg of a rejected whole."""
    rejected = next((o for o in outcomes if o.rejection is not None), None)
    if rejected is not None:
        return rejected
    results = {o.result for o in outcomes}
    if len(results) != 1:
        return LedgerOutcome.rejected(Reason.DUPLICATION, "some legs of this payment were applied "
                                                          "before under its keys, others not")
    unfinal = next((o.status for o in outcomes if o.status != Status.ACCEPTED_SETTLEMENT_COMPLETED), None)
    return LedgerOutcome(results.pop(), status=unfinal or Status.ACCEPTED_SETTLEMENT_COMPLETED)


def apply_legs(apply: Callable[[TokenOperation], LedgerOutcome],
               operations: Sequence[TokenOperation]) -> LedgerOutcome:
    """Apply legs in order with `apply` until one is refused: `combine_legs` of their outcomes
    (the caller undoes every leg when that is a rejection)."""
    outcomes: list[LedgerOutcome] = []
    for operation in operations:
        outcomes.append(apply(operation))
        if outcomes[-1].rejection is not None:
            break
    return combine_legs(outcomes)


@dataclass(frozen=True, slots=True)
class RecordedOperation:
    """An operation as the ledger holds it."""

    operation: TokenOperation
    sequence: int
    applied_at: datetime
    status: str = Status.ACCEPTED_SETTLEMENT_COMPLETED
    cancelled: bool = False  # cancelled on request before it took effect (status RJCT)


# What asking a ledger to cancel an operation came to (Ledger.cancel).
CANCELLED = "cancelled"  # it never takes effect: nothing of it remains
CANCEL_PENDING = "pending"  # asked, not decided yet: a settlement round reports the outcome
FINAL = "final"  # it took effect and is final: too late to cancel
NEVER_APPLIED = "never applied"  # nothing under the key, or it failed: nothing to cancel


@dataclass(frozen=True, slots=True)
class CancellationOutcome:
    result: str  # CANCELLED, CANCEL_PENDING, FINAL or NEVER_APPLIED
    first: bool = True  # False: asked before (a repeated request); nothing new was done


@dataclass(frozen=True, slots=True)
class MintClaim:
    """What a mint claims: the references of its payment (`payment_references` in
    bridge.reconciliation.statement_mints) and the road it came by."""

    road: str  # PAYMENT_ROAD, STATEMENT_ROAD or COVER_ROAD
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaymentClaim:
    """A payment reference as the ledger holds it: the mint that claimed it first, its road."""

    reference: str
    operation_key: str
    road: str


def claims_conflict(road: str, holder_road: str) -> bool:
    """Whether a mint coming by `road` is the payment that a mint by `holder_road` already
    holds a reference of. Two pacs.008 mints never are (their idempotency keys tell two
    payments apart); a mint and a statement mint sharing a reference are one payment, and so
    are a pacs.008 and a pacs.009 covering it (or two covers)."""
    return not (road == PAYMENT_ROAD and holder_road == PAYMENT_ROAD)


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of a double-entry operation. `holder` is a wallet or `issuance:<CCY>`; `amount`
    is signed minor units (credit positive)."""

    sequence: int
    operation_key: str
    kind: str
    holder: str
    counterparty: str
    currency: str
    amount: int
    posted_at: datetime
    refs: PaymentRefs


@dataclass(frozen=True, slots=True)
class WalletBalance:
    wallet: str
    currency: str
    balance: int  # minor units
    held: int = 0  # of the balance, reserved by holds (bridge.holds): available = balance - held

    @property
    def available(self) -> int:
        return self.balance - self.held


def issuance_holder(currency: str) -> str:
    """The ledger's issuance account for a currency: its balance is minus the token supply."""
    return f"issuance:{currency}"


class Ledger(ABC):
    """A token ledger: applies operations idempotently by key and reports balances and journals."""

    name: str = "ledger"

    @abstractmethod
    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        """Apply once per key. Same key and fingerprint again: REPLAYED, no effect. Same key,
        other content: rejected AM05. Not enough tokens: rejected AM04. Never partial.

        With `claim` (a mint's), the mint also holds its payment's references, in the same
        transaction and under a unique constraint; a reference some mint already holds stays
        that mint's. A held reference that `claims_conflict` with this mint's road: rejected
        AM05, nothing applied, when this unit can see it; when a concurrent unit of work
        claimed it first, this unit of work fails (at the latest on commit) with an error
        the store reports as transient, and its retry sees the claim (`find_claims`)."""

    def apply_together(self, operations: Sequence[TokenOperation]) -> LedgerOutcome:
        """Apply `operations` (transfers: the legs of one payment-versus-payment, bridge.fx)
        all or none, in this unit of work: `combine_legs` of their outcomes, and when that is a
        rejection none of them took effect. A ledger that cannot tie legs together refuses
        them (AG03), the default: it must never settle one leg without the other."""
        return LedgerOutcome.rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                      f"the {self.name} ledger cannot settle two legs as one "
                                      "(payment versus payment)")

    @abstractmethod
    def find(self, key: str) -> RecordedOperation | None:
        """The operation recorded under an idempotency key."""

    def cancel(self, key: str, requested_by: str) -> CancellationOutcome:
        """Cancel the operation under `key`, in this unit of work, so that it never takes effect:
        CANCELLED when it is not final yet, CANCEL_PENDING when only the settlement can tell
        (reported later with `requested_by`, the request's reference, on its SettlementChange),
        FINAL when it took effect. Asked again: the same outcome, `first` False, nothing new.
        A ledger whose operations are final once applied (SQL) cancels nothing but its holds:
        a held payment is voided (reason DS02), this default."""
        held = self.find_hold(key)
        if held is not None and held.state != HoldState.EXECUTED:
            if held.state == HoldState.VOIDED:
                return CancellationOutcome(CANCELLED if held.end_reason == Reason.ORDER_CANCELLED
                                           else NEVER_APPLIED, first=False)
            ended = self.end_hold(key, HoldEnding(HoldState.VOIDED, Reason.ORDER_CANCELLED,
                                                  f"cancellation:{requested_by[:60]}", self.now()))
            return CancellationOutcome(CANCELLED, first=ended is not None)
        recorded = self.find(key)
        if recorded is None:
            return CancellationOutcome(NEVER_APPLIED)
        if recorded.cancelled:
            return CancellationOutcome(CANCELLED, first=False)
        if recorded.status == Status.REJECTED:
            return CancellationOutcome(NEVER_APPLIED)
        return CancellationOutcome(FINAL)

    @abstractmethod
    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        """The claims held on `references` (this unit's own included), in the order given;
        a reference nobody holds is left out."""

    def prepare(self, planned: Sequence[TokenOperation], lookups: Iterable[str] = (),
                references: Iterable[str] = ()) -> None:
        """A hint that `planned` are about to be applied, `lookups` found and the claims on
        `references` looked up, in this unit of work: a ledger may read what they need at
        once instead of one by one. Optional; the outcomes are the same without it."""

    # -- holds (bridge.holds): a ledger without them refuses to hold, and holds nothing -----

    def hold(self, operation: TokenOperation, terms: HoldTerms) -> LedgerOutcome:
        """Accept `operation` now and apply it later: reserve its amount in the debtor's wallet
        (a mint reserves nothing) under its key, until the hold ends (`end_hold`). APPLIED with
        status ACSP; the same key and content again: REPLAYED (its status); another content:
        AM05; available (balance - held) short of the amount: AM04, nothing held."""
        return LedgerOutcome.rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                      f"the {self.name} ledger cannot hold tokens: value-dated and "
                                      "conditional payments are refused on it")

    def find_hold(self, key: str) -> Hold | None:
        """The hold under a payment's key, whatever its state."""
        return None

    def holds(self, state: HoldState | None = None, ends_before: datetime | None = None) -> list[Hold]:
        """Holds (in one state; whose terms end before a time), oldest first."""
        return []

    def end_hold(self, key: str, ending: HoldEnding, claim: MintClaim | None = None) -> LedgerOutcome | None:
        """End the hold under `key` once: executed (its operation applied, under the hold's
        key, with the reserved amount available to it) or voided (nothing applied). APPLIED:
        ended now; rejected: executing was refused (AM02, ...), and the hold is voided with that
        reason instead; None: no hold under the key is held (absent, or ended before)."""
        return None

    def count_wrong_fulfilment(self, key: str) -> None:
        """Count a release refused for a wrong fulfilment (nothing else changes)."""

    def now(self) -> datetime:
        """The ledger's clock (for a hold ended on its own initiative, by a cancellation)."""
        return datetime.now(timezone.utc)

    @abstractmethod
    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        """Every wallet's balance (now, or as of a time)."""

    @abstractmethod
    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        """Tokens in circulation per currency, in minor units."""

    @abstractmethod
    def journal(self, *, wallet: str | None = None, currency: str | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        """Postings of a wallet (or of every wallet in a currency), start <= posted_at < end."""


class AccountRegistry(ABC):
    @abstractmethod
    def get(self, account: str) -> RegisteredAccount | None: ...

    def get_many(self, accounts: Iterable[str]) -> None:
        """Read ahead the accounts a batch's payments name, so that their `get` asks the store
        nothing more (a store may read them in one query). This default reads each with `get`."""
        for account in accounts:
            self.get(account)

    @abstractmethod
    def upsert(self, accounts: Iterable[RegisteredAccount]) -> int:
        """Insert or update by account id; returns how many rows were written."""

    @abstractmethod
    def all(self) -> list[RegisteredAccount]: ...

    def fx_positions(self) -> dict[str, str]:
        """The wallet of the bank's active FX position account in each currency (kind `fx`),
        by currency: where payment-versus-payment settles (bridge.fx)."""
        return {a.currency: a.wallet for a in self.all()
                if a.is_fx_position and a.status == ACTIVE and a.wallet}

    def of_wallet(self, wallet: str, currency: str) -> RegisteredAccount | None:
        """The account whose `currency` a wallet holds (an active one first): the customer a
        movement of the wallet concerns. This default reads the whole registry; a store may
        look it up directly."""
        return min((a for a in self.all() if a.wallet == wallet and a.currency == currency),
                   key=lambda a: (a.status != ACTIVE, a.account), default=None)


class Inbox(ABC):
    @abstractmethod
    def claim(self, digest: str) -> bool:
        """Reserve a message digest for this unit of work; False when another has recorded it
        (then `find` returns its record). Blocks while a concurrent unit holds it."""

    def claim_many(self, digests: Sequence[str]) -> set[str]:
        """`claim` for several digests at once (an inbox may do it in one statement): the set
        of those claimed now. A digest listed twice is claimed once."""
        return {digest for digest in dict.fromkeys(digests) if self.claim(digest)}

    @abstractmethod
    def record(self, record: InboundRecord) -> None: ...

    @abstractmethod
    def find(self, digest: str) -> InboundRecord | None: ...

    @abstractmethod
    def by_message_id(self, message_id: str) -> list[InboundRecord]:
        """Records whose GrpHdr/MsgId is `message_id`, newest first (a MsgId is unique only
        per sender, and the same bytes may be received again)."""


class Outbox(ABC):
    @abstractmethod
    def add(self, message: OutboundMessage) -> None: ...

    @abstractmethod
    def get(self, message_id: str) -> OutboundMessage | None: ...

    @abstractmethod
    def pending(self, limit: int = 100, created_before: datetime | None = None) -> list[OutboundMessage]:
        """Committed but not yet confirmed by the broker, oldest first (optionally only those
        created before a time: another worker may be publishing the newest right now)."""

    @abstractmethod
    def backlog(self) -> int:
        """How many messages wait to be published."""

    @abstractmethod
    def mark_published(self, message_ids: Iterable[str]) -> None: ...

    @abstractmethod
    def correlated(self, correlation_id: str) -> list[SentMessage]:
        """Every message sent about one original (its BizMsgIdr or MsgId: the reply, follow-ups,
        returns, resolutions, notifications), oldest first."""


@dataclass(frozen=True, slots=True)
class ReturnEntry:
    """One return of (part of) a payment: its own idempotency key (the reversal's), the key of
    the original operation it reverses, how much, why, and who asked (a pacs.004's MsgId, or
    the operator)."""

    return_key: str
    original_key: str
    currency: str
    amount: int  # minor units, > 0
    reason: str  # ExternalReturnReason1Code or a proprietary reason
    origin: str  # RETURN_BY_MESSAGE or RETURN_BY_OPERATOR
    message_id: str | None  # the pacs.004 that brought it, or the one the bridge wrote
    return_id: str | None = None  # RtrId
    returned_at: datetime | None = None


RETURN_BY_MESSAGE = "pacs.004"  # a pacs.004 received
RETURN_BY_OPERATOR = "operator"  # `tokenbridge return` (or a cancellation answered by a return)


class PaymentReturns(ABC):
    """What has been returned of each original payment: a running total per original, kept so
    that the returns of one original never exceed it, even with units of work racing."""

    @abstractmethod
    def returned(self, original_key: str) -> int:
        """Minor units returned of the original so far (0: none)."""

    @abstractmethod
    def find(self, return_key: str) -> ReturnEntry | None:
        """The return recorded under its key."""

    @abstractmethod
    def entries(self, original_key: str) -> list[ReturnEntry]:
        """The returns of an original, in the order recorded."""

    @abstractmethod
    def take(self, original_key: str, amount: int, limit: int) -> bool:
        """Count `amount` more as returned of the original, only if the total stays within
        `limit` (the original's amount): atomically against concurrent units of work (a
        conditional update under the row's lock). False: it would pass it, nothing counted."""

    @abstractmethod
    def release(self, original_key: str, amount: int) -> None:
        """Undo this unit's `take` (the ledger refused the reversal)."""

    @abstractmethod
    def record(self, entry: ReturnEntry) -> None:
        """Keep the return (after its `take` and its reversal applied); chained in the audit
        trail where the store keeps one."""


class UnitOfWork(ABC):
    """One atomic unit: commit explicitly; leaving the block without commit rolls back."""

    accounts: AccountRegistry
    ledger: Ledger
    inbox: Inbox
    outbox: Outbox
    returns: PaymentReturns

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.rollback()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...


# -- the ledger plugin seam ---------------------------------------------------------------------

class StoreTransaction(Protocol):
    """The store's transaction a unit of work runs in, as a ledger plugin is given it.

    A ledger that keeps its books elsewhere (a core banking system, a chain) joins the unit
    through the hooks: prepare before the commit (a hook that raises fails the unit, rolled
    back), make final after it, undo after a rollback. Each hook runs once, in the order
    registered. A ledger that keeps its books in the store's own database may downcast to the
    store's type (the SQL store's is `adapters.sql.transaction.SqlTransaction`: its
    `connection`)."""

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the unit commits, before the store does."""

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once the store has committed."""

    def after_rollback(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the unit ends without committing."""


class TransactionalStore(Protocol):
    """The bridge's store as a plugin's own jobs (settling, setting up) need it."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """A transaction of its own: committed when the block ends normally, else rolled back."""


@runtime_checkable
class LedgerPlugin(Protocol):
    """A ledger adapter, found by name in the entry-point group `tokenbridge.ledgers` and called
    with the settings; it lives as long as the process (node connections, caches)."""

    def ledger_for(self, transaction: StoreTransaction) -> Ledger:
        """The ledger of one unit of work: its effects commit, or roll back, with `transaction`."""


ChangeReport = Callable[[StoreTransaction, Sequence[SettlementChange]], None]
"""Told the status changes of a settlement round, in the transaction that records them."""


class Settlement(Protocol):
    """Settlement rounds of a ledger whose operations become final after the answer (ACSP)."""

    on_changes: ChangeReport | None  # the bridge answers each change with a follow-up pacs.002

    def settle(self) -> list[SettlementChange]:
        """One round: each change reported once (to `on_changes` too), even with several
        processes settling the same store."""

    def pending(self) -> int:
        """Operations not final yet (planned or submitted): what `tokenbridge settle --wait`
        runs rounds until there are none of."""


@runtime_checkable
class SettlingLedger(Protocol):
    """A plugin whose operations settle later (EVM): the worker runs its rounds."""

    def settler(self, store: TransactionalStore) -> Settlement:
        """The settlement of a store, one per process and store."""


@runtime_checkable
class LedgerSetUp(Protocol):
    """A plugin with set-up of its own, run by `tokenbridge ledger init` after the store's
    migration (EVM: deploy or adopt the token contracts); idempotent."""

    def initialise(self, store: TransactionalStore) -> Mapping[str, object]:
        """What was set up (EVM: `contracts` by currency, `deployed`, `adopted`)."""


@runtime_checkable
class LedgerDescription(Protocol):
    """A plugin that adds to `tokenbridge ledger info` (EVM: its contracts), without calling
    the outside world."""

    def describe(self, store: TransactionalStore) -> Mapping[str, object]: ...
