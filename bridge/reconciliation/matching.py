"""Matching statement items to ledger movements.

A movement is a ledger operation as it moved the reconciled account, credit positive: for an
omnibus account, the token supply of its currency (a mint is a credit, a burn a debit); for a
wallet, the wallet's own postings. A credit item matches a credit movement, a debit a debit.

The rule, in order of strength (the first reference that finds candidates decides):
1. UETR; 2. EndToEndId (NOTPROVIDED identifies nothing); 3. AcctSvcrRef, against the
operation's recorded AcctSvcrRef or the ledger's own reference (what statements out carry);
then, for items no reference found, 4. amount and currency among movements not yet matched.
A candidate is never one whose references contradict the item's (another UETR, another
EndToEndId). Among candidates an unmatched one of the same amount wins, then any unmatched one;
when every candidate is already matched, the item is a duplicate of the first.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.operations import BURN, MINT, PaymentRefs, TokenOperation
from bridge.ports import Ledger, Posting, issuance_holder
from bridge.reconciliation.entries import NOT_PROVIDED, StatementItem
from bridge.reconciliation.statement_mints import LEDGER_REFERENCE_PREFIX, ledger_reference



class MatchBasis(StrEnum):
    """What an entry was matched on: the report's `matched_on`."""

    UETR = "uetr"
    END_TO_END_ID = "end_to_end_id"
    ACCOUNT_SERVICER_REF = "account_servicer_ref"
    AMOUNT = "amount"
    KEY = "key"  # the operation the entry would cause is already on the ledger under its key


@dataclass(frozen=True, slots=True)
class Movement:
    """A ledger operation on the reconciled account; `amount` is signed minor units."""

    key: str
    kind: str
    currency: str
    amount: int
    posted_at: datetime
    refs: PaymentRefs
    wallet: str | None = None  # the customer wallet: minted to or burned from; or the wallet itself
    counterparty: str | None = None

    @property
    def end_to_end_id(self) -> str | None:
        e2e = self.refs.end_to_end_id
        return e2e if e2e and e2e.upper() != NOT_PROVIDED else None

    def operation(self) -> TokenOperation:
        """The mint or burn behind a supply movement, as the ledger applied it."""
        return TokenOperation(self.key, self.kind, self.currency, abs(self.amount),
                              debit_wallet=self.wallet if self.kind == BURN else None,
                              credit_wallet=self.wallet if self.kind == MINT else None,
                              refs=self.refs)


def supply_movements(wallet_postings: Iterable[Posting]) -> list[Movement]:
    """Movements of the token supply: the wallet legs of mints and burns (the postings whose
    counterparty is the issuance account); transfers leave the supply as it is."""
    issuance: dict[str, str] = {}  # currency -> its issuance account, built once per currency
    movements = []
    for p in wallet_postings:
        holder = issuance.get(p.currency) or issuance.setdefault(p.currency, issuance_holder(p.currency))
        if p.counterparty == holder:
            movements.append(Movement(p.operation_key, p.kind, p.currency, p.amount, p.posted_at,
                                      p.refs, wallet=p.holder, counterparty=p.counterparty))
    return movements


def wallet_movements(postings: Iterable[Posting]) -> list[Movement]:
    """Movements of a wallet from its own postings."""
    return [Movement(p.operation_key, p.kind, p.currency, p.amount, p.posted_at, p.refs,
                     wallet=p.holder, counterparty=p.counterparty)
            for p in postings]


def ledger_figure(ledger: Ledger, currency: str, wallet: str | None, as_of: datetime | None) -> int:
    """The ledger's side of a statement's balance, in minor units: the token supply of
    `currency` (no wallet: an omnibus account, or statements out of the supply), else the
    wallet's balance. Reconciliation checks a closing booked balance against it and statements
    out write it as OPBD and CLBD, so the two measure alike."""
    if wallet is None:
        return ledger.supply(as_of=as_of).get(currency, 0)
    return next((b.balance for b in ledger.balances(as_of=as_of)
                 if b.wallet == wallet and b.currency == currency), 0)


@dataclass(frozen=True, slots=True)
class Match:
    movement: Movement
    basis: MatchBasis
    taken_by: int | None = None  # the item that matched this movement first: a duplicate


def compatible(item: StatementItem, movement: Movement) -> bool:
    """False when a reference says they are different payments."""
    if item.refs.uetr and movement.refs.uetr and item.refs.uetr != movement.refs.uetr.lower():
        return False
    e2e, other = item.end_to_end_id, movement.end_to_end_id
    return not (e2e and other and e2e != other)


class MovementIndex:
    """The ledger's movements indexed by reference, and which item took which movement."""

    def __init__(self, movements: Iterable[Movement]) -> None:
        self.movements = list(movements)
        self.by_uetr: dict[str, list[Movement]] = defaultdict(list)
        self.by_end_to_end: dict[str, list[Movement]] = defaultdict(list)
        self.by_servicer_ref: dict[str, list[Movement]] = defaultdict(list)
        for m in self.movements:
            refs = m.refs
            if refs.uetr:
                self.by_uetr[refs.uetr.lower()].append(m)
            if refs.end_to_end_id and refs.end_to_end_id.upper() != NOT_PROVIDED:
                self.by_end_to_end[refs.end_to_end_id].append(m)
            if refs.account_servicer_ref:
                self.by_servicer_ref[refs.account_servicer_ref].append(m)
        self._by_ledger_ref: dict[str, list[Movement]] | None = None
        self._by_amount: dict[tuple[bool, str, int], list[Movement]] | None = None
        self.taken: dict[str, int] = {}  # movement key -> position of the item that matched it

    def take(self, movement: Movement, position: int) -> None:
        self.taken.setdefault(movement.key, position)

    def find(self, item: StatementItem, *, credit: bool) -> Match | None:
        """The movement an item's references name (UETR, then EndToEndId, then AcctSvcrRef),
        on the credit or debit side; None when no reference finds one."""
        ref = item.refs.account_servicer_ref
        lookups = ((MatchBasis.UETR, self.by_uetr, item.refs.uetr),
                   (MatchBasis.END_TO_END_ID, self.by_end_to_end, item.end_to_end_id),
                   (MatchBasis.ACCOUNT_SERVICER_REF, self.by_servicer_ref, ref),
                   (MatchBasis.ACCOUNT_SERVICER_REF, self._ledger_refs(ref), ref))
        for basis, index, value in lookups:
            if not value or index is None:
                continue
            candidates = [m for m in index.get(value, ())
                          if (m.amount > 0) == credit and compatible(item, m)]
            if candidates:
                return self._choose(item, candidates, basis)
        return None

    def find_by_amount(self, item: StatementItem, wallet: str | None) -> Match | None:
        """An unmatched movement of the item's side, amount and currency whose references do not
        contradict the item's (and of the same wallet when both are known), oldest first."""
        if self._by_amount is None:
            self._by_amount = defaultdict(list)
            for m in sorted(self.movements, key=lambda m: m.posted_at):
                self._by_amount[(m.amount > 0, m.currency, abs(m.amount))].append(m)
        for m in self._by_amount.get((item.credit, item.currency, item.amount), ()):
            if (m.key not in self.taken and compatible(item, m)
                    and (wallet is None or m.wallet is None or m.wallet == wallet)):
                return Match(m, MatchBasis.AMOUNT)
        return None

    def twin_taken(self, movement: Movement) -> Movement | None:
        """Another movement of the same payment (same UETR; or same EndToEndId and amount), on
        the same side, that an item matched: `movement` is then a second operation for it."""
        candidates: list[Movement] = []
        if movement.refs.uetr:
            candidates += self.by_uetr.get(movement.refs.uetr.lower(), [])
        if (e2e := movement.end_to_end_id) is not None:
            candidates += [m for m in self.by_end_to_end.get(e2e, []) if m.amount == movement.amount]
        return next((m for m in candidates if m.key != movement.key and m.key in self.taken
                     and (m.amount > 0) == (movement.amount > 0)), None)

    def _choose(self, item: StatementItem, candidates: list[Movement], basis: MatchBasis) -> Match:
        free = [m for m in candidates if m.key not in self.taken]
        same = next((m for m in free if abs(m.amount) == item.amount and m.currency == item.currency), None)
        if same is not None or free:
            return Match(same or free[0], basis)
        first = candidates[0]
        return Match(first, basis, taken_by=self.taken[first.key])

    def _ledger_refs(self, ref: str | None) -> dict[str, list[Movement]] | None:
        # Only statements the bridge wrote carry ledger references: hash the keys on demand.
        if not ref or not ref.startswith(LEDGER_REFERENCE_PREFIX) or len(ref) != 35:
            return None
        if self._by_ledger_ref is None:
            self._by_ledger_ref = defaultdict(list)
            for m in self.movements:
                self._by_ledger_ref[ledger_reference(m.key)].append(m)
        return self._by_ledger_ref
