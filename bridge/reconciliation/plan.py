"""The first step of reconciling one camt.053 statement with the token ledger: pure functions.

    statement + the ledger's movements on the account -> plan (every entry matched, or an
    operation to apply, or a break) -> [the caller applies the operations] -> conclusion
    (bridge.reconciliation.conclusion: every entry and every ledger operation of the period
    classified, the breaks, the backing)

An **omnibus** statement is the legacy side's truth about the fiat that backs a token:
- a booked credit matches a mint, or mints when its details name a tokenized beneficiary
  account (keys: bridge.reconciliation.statement_mints), or is an unapplied credit; the caller
  adds to the candidates the mints that claimed the entries' payment references
  (`payment_references_of`), whatever their age: one payment, one mint;
- a booked debit matches a burn, or is missing on the ledger (a statement never burns);
- a reversal undoes the operation its entry caused (or cancels the entry it reverses when both
  are on this statement and nothing reached the ledger);
- pending and informational entries produce nothing;
- an item of zero (an entry, or a batch entry's `TxDtls`, of 0.00) is no payment: it is never
  matched nor minted, and shows as a `statement_inconsistent` break;
- the closing booked balance must equal the token supply at the statement's end.
A **wallet** statement is compared with that wallet's journal; it applies nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bridge.accounts import ACTIVE, OMNIBUS, WALLET, AccountLookup, RegisteredAccount, find_registered
from bridge.operations import TokenOperation
from bridge.parties import AccountId
from bridge.reconciliation.entries import StatementItem, amount_text, statement_items
from bridge.reconciliation.matching import Match, MatchBasis, Movement, MovementIndex
from bridge.reconciliation.outcomes import BreakCategory, EntryOutcome, EntryStatus, ReconciledAccount
from bridge.reconciliation.statement_mints import (is_reversal, payment_references, statement_mint,
                                                   statement_mint_key, undo)
from bridge.statements import Statement

PLANNED = (EntryStatus.PLANNED_MINT, EntryStatus.PLANNED_UNDO)
"""An item's outcome before the caller applies what it causes."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The first step: every item's outcome, and the operations the statement causes."""

    account: ReconciledAccount
    entries: tuple[EntryOutcome, ...]
    index: MovementIndex

    @property
    def operations(self) -> list[TokenOperation]:
        return [e.operation for e in self.entries
                if e.status in PLANNED and e.operation is not None]


# -- step 1: plan ------------------------------------------------------------------------------

def plan_statement(statement: Statement, account: ReconciledAccount, movements: Iterable[Movement],
                   lookup: AccountLookup) -> Plan:
    """Match every booked item of a statement that adds up to the ledger's movements on its
    account, and decide what the unmatched ones mean (see the module's rules)."""
    index = MovementIndex(movements)
    items = statement_items(statement)
    outcomes: list[EntryOutcome | None] = [None] * len(items)
    for position, item in enumerate(items):  # references first, for every item
        if not item.booked:
            outcomes[position] = EntryOutcome(item, EntryStatus.PENDING, reason=f"entry status {item.status}")
            continue
        if not item.is_payment:  # never matched nor minted: a zero part is no payment
            outcomes[position] = EntryOutcome(item, BreakCategory.STATEMENT_INCONSISTENT, reason=(
                f"{_item_name(item)}: an amount of {amount_text(item.amount, item.currency)} "
                "is not a payment"))
            continue
        found = index.find(item, credit=item.credit)
        if found is not None:
            outcomes[position] = _matched(item, found, index, position, _wallet_of(item, account, lookup))
    for position, item in enumerate(items):  # then amounts, for what no reference found
        if outcomes[position] is None and not item.reversal:
            wallet = _wallet_of(item, account, lookup)
            found = index.find_by_amount(item, wallet)
            if found is not None:
                outcomes[position] = _matched(item, found, index, position, wallet)
    planned: dict[str, int] = {}
    for position, item in enumerate(items):
        if outcomes[position] is None and not item.reversal:
            outcomes[position] = _unmatched(item, account, lookup, planned, position)
    for position, item in enumerate(items):  # reversals last: what they reverse is decided
        if outcomes[position] is None:
            outcomes[position] = _reversal(item, position, account, index, items, outcomes, planned)
    return Plan(account, tuple(o for o in outcomes if o is not None), index)


def payment_references_of(statement: Statement, account: ReconciledAccount,
                          lookup: AccountLookup) -> list[str]:
    """The payment references of an omnibus statement's booked credits (none for a wallet
    statement, which never mints): the ledger's claims on them name the mints of those
    payments, whichever road minted them and whenever."""
    if account.kind != OMNIBUS:
        return []
    found: dict[str, None] = {}
    for item in statement_items(statement):
        if item.booked and item.credit and not item.reversal:
            found.update(dict.fromkeys(payment_references(
                item.refs, item.currency, item.amount, _wallet_of(item, account, lookup))))
    return list(found)


def _wallet_of(item: StatementItem, account: ReconciledAccount, lookup: AccountLookup) -> str | None:
    """The wallet on the customer side of an item: the creditor's for a credit on an omnibus
    account, the debtor's for a debit; the wallet itself on a wallet statement."""
    if account.kind == WALLET:
        return account.wallet
    found = _registered_wallet(item.creditor_account if item.credit else item.debtor_account, lookup)
    return found.wallet if found is not None else None


def _registered_wallet(account_id: AccountId | None, lookup: AccountLookup) -> RegisteredAccount | None:
    found = find_registered(account_id, lookup)
    return found if found is not None and found.is_wallet and not found.is_ledger_book else None


def _matched(item: StatementItem, found: Match, index: MovementIndex, position: int,
             wallet: str | None) -> EntryOutcome:
    movement = found.movement
    if found.taken_by is not None:
        return EntryOutcome(item, BreakCategory.DUPLICATE, movement, found.basis,
                            reason=f"the ledger operation {movement.key} was already matched by "
                                   f"another entry of this statement ({_entry_name(found.taken_by)})")
    index.take(movement, position)
    differences = []
    if abs(movement.amount) != item.amount or movement.currency != item.currency:
        differences.append(f"the ledger has {amount_text(abs(movement.amount), movement.currency)}, "
                           f"the entry {amount_text(item.amount, item.currency)}")
    if wallet and movement.wallet and wallet != movement.wallet and found.basis != MatchBasis.AMOUNT:
        differences.append(f"the ledger operation is on wallet {movement.wallet}, the entry names {wallet}")
    if differences:
        return EntryOutcome(item, BreakCategory.MATCHED_WITH_DIFFERENCE, movement, found.basis,
                            reason="; ".join(differences))
    return EntryOutcome(item, EntryStatus.MATCHED, movement, found.basis)


def _item_name(item: StatementItem) -> str:
    """The entry (and TxDtls) as the statement numbers them, from 1."""
    part = f", TxDtls {item.detail_index + 1}" if item.detail_index is not None else ""
    return f"entry {item.entry_index + 1}{part}"


def _entry_name(position: int) -> str:
    return f"item {position + 1}"


def _unmatched(item: StatementItem, account: ReconciledAccount, lookup: AccountLookup,
               planned: dict[str, int], position: int) -> EntryOutcome:
    if account.kind == WALLET:
        return EntryOutcome(item, BreakCategory.MISSING_ON_LEDGER,
                            reason="no posting of this wallet matches the entry")
    if not item.credit:
        return EntryOutcome(item, BreakCategory.MISSING_ON_LEDGER,
                            reason="fiat left the omnibus account but no burn on the ledger matches")
    creditor = find_registered(item.creditor_account, lookup)
    problem = (
        "the entry names no creditor account" if item.creditor_account is None else
        f"creditor account {item.creditor_account} is not tokenized here"
        if creditor is None or not creditor.is_wallet or creditor.is_ledger_book else
        f"creditor account {item.creditor_account} is {creditor.status}" if creditor.status != ACTIVE else
        f"creditor account {item.creditor_account} holds {creditor.currency}, not {item.currency}"
        if creditor.currency != item.currency or item.currency != account.currency else None)
    key = statement_mint_key(item.refs)
    if problem is None and key is None:
        problem = ("no UETR, nor MsgId and EndToEndId of the underlying payment: no key to mint it "
                   "under, and a later pacs.008 of it could not be recognised for sure")
    if problem is not None:
        return EntryOutcome(item, BreakCategory.UNAPPLIED_CREDIT, reason=problem)
    assert creditor is not None and creditor.wallet is not None and key is not None  # no problem above
    names = (key, *payment_references(item.refs, item.currency, item.amount, creditor.wallet))
    same = next((name for name in names if name in planned), None)
    if same is not None:  # the same key, or a payment reference shared: one payment
        return EntryOutcome(item, BreakCategory.DUPLICATE, reason=f"the same payment ({same}) as "
                                                    f"{_entry_name(planned[same])} of this statement")
    planned.update(dict.fromkeys(names, position))
    operation = statement_mint(key, item.currency, item.amount, creditor.wallet, item.refs)
    return EntryOutcome(item, EntryStatus.PLANNED_MINT, operation=operation)


def _reversal(item: StatementItem, position: int, account: ReconciledAccount, index: MovementIndex,
              items: Sequence[StatementItem], outcomes: list[EntryOutcome | None],
              planned: dict[str, int]) -> EntryOutcome:
    """A reversal no ledger operation matches: undo the operation it reverses, or cancel the
    entry it reverses on this statement when that one reached no ledger."""
    original = index.find(item, credit=not item.credit)
    if original is not None and account.kind == OMNIBUS and not is_reversal(original.movement.key):
        movement = original.movement
        if abs(movement.amount) != item.amount:
            return EntryOutcome(item, BreakCategory.MATCHED_WITH_DIFFERENCE, movement, original.basis,
                                reason=f"the reversal is of {amount_text(item.amount, item.currency)}, "
                                       f"the operation it reverses of "
                                       f"{amount_text(abs(movement.amount), movement.currency)}")
        operation = undo(movement.operation(), item.amount, item.refs.account_servicer_ref)
        if operation.key in planned:
            return EntryOutcome(item, BreakCategory.DUPLICATE, movement, original.basis,
                                reason=f"{_entry_name(planned[operation.key])} of this statement "
                                       f"already reverses {movement.key}")
        planned[operation.key] = position
        return EntryOutcome(item, EntryStatus.PLANNED_UNDO, movement, original.basis, operation=operation,
                            reason=f"undoes {movement.key}")
    for other, outcome in enumerate(outcomes):
        o_item = items[other]
        if (outcome is not None
                and outcome.status in (EntryStatus.PLANNED_MINT, BreakCategory.UNAPPLIED_CREDIT)
                and o_item.credit != item.credit and not o_item.reversal
                and o_item.amount == item.amount and _same_payment(o_item, item)):
            # Both entries cancel out and nothing reached the ledger: apply neither.
            reason = f"cancelled by its reversal ({_entry_name(position)})"
            outcomes[other] = replace(outcome, status=EntryStatus.REVERSED, operation=None, reason=reason)
            return EntryOutcome(item, EntryStatus.REVERSED,
                                reason=f"cancels {_entry_name(other)} of this statement")
    return EntryOutcome(item, BreakCategory.MISSING_ON_LEDGER,
                        reason="a reversal of an operation that is not on the ledger")


def _same_payment(a: StatementItem, b: StatementItem) -> bool:
    pairs = ((a.refs.uetr, b.refs.uetr), (a.end_to_end_id, b.end_to_end_id),
             (a.refs.account_servicer_ref, b.refs.account_servicer_ref))
    return any(x and y and x == y for x, y in pairs) and all(
        not (x and y) or x == y for x, y in pairs[:2])



def dry_run(entries: Iterable[EntryOutcome]) -> list[EntryOutcome]:
    """The plan's outcomes when nothing is applied: planned operations are only shown."""
    shown = {EntryStatus.PLANNED_MINT: EntryStatus.WOULD_MINT,
             EntryStatus.PLANNED_UNDO: EntryStatus.WOULD_REVERSE}
    return [replace(e, status=shown[e.status]) if e.status in shown else e for e in entries]

