"""Reconciling a camt.053 message against the ledger, inside a unit of work: the service around
the pure reconciliation (bridge.reconciliation). The pipeline calls it for every camt.053, so
`tokenbridge reconcile`, `replay` and the worker do the same thing.

For each statement of the message:
1. what it is of, from the registry: an omnibus account (kind `omnibus`) or a wallet's account;
   a statement of any other account refuses the whole message;
2. does it add up? If not, it is refused (`statement_inconsistent`) and nothing of it applies;
3. the ledger's movements on that account from `lookback` before the statement's start;
4. plan, then apply the mints and reversals it causes (not in a dry run). An operation whose key
   the ledger already holds is matched by its key, and a mint that claimed a payment
   reference of an entry is a candidate for it, whatever their date (one payment, one mint:
   bridge.statement_operations); a statement mint claims its payment's references;
5. the ledger's figure (supply, or the wallet's balance) at the statement's start and end,
   measured after applying; conclude.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from bridge.accounts import OMNIBUS as OMNIBUS_KIND
from bridge.accounts import RegisteredAccount, find_registered
from bridge.matching import KEY, Movement, supply_movements, wallet_movements
from bridge.messages import OutboundMessage, new_message_id
from bridge.operations import MINT, TokenOperation
from bridge.ports import APPLIED, REPLAYED, STATEMENT_ROAD, UnitOfWork
from bridge.reconciliation import (MATCHED, MATCHED_WITH_DIFFERENCE, MINTED, MISSING_ON_LEDGER,
                                   OMNIBUS, PLANNED_MINT, PLANNED_UNDO, REVERSED, UNAPPLIED_CREDIT,
                                   WALLET, EntryOutcome, Plan, ReconciledAccount,
                                   ReconciliationReport, StatementReconciliation, conclude,
                                   dry_run, payment_references_of, plan_statement, refused)
from bridge.reconciliation_report import report_to_dict
from bridge.statement_items import Inconsistency, statement_period, statement_totals
from bridge.statement_operations import mint_claim
from bridge.statements import Statement, StatementMessage

DEFAULT_LOOKBACK = timedelta(days=7)
"""How long before a statement's start the ledger's operations are candidates for its entries:
a pacs.008 is often minted before the fiat is booked. An older mint is still a candidate when
it claimed a payment reference of an entry (UETR, EndToEndId with amount and wallet,
AcctSvcrRef), or holds the key the entry would mint under; only an older operation that shares
none of those is not."""

REPORT_MESSAGE_TYPE = "report.reconciliation"
"""The reconciliation report's type on `tokenbridge.out`, and so its routing key."""

CLEAN, BREAKS, REFUSED = "accepted", "breaks", "refused"


class StatementRefused(ValueError):
    """A camt.053 the bridge cannot reconcile at all (bad input): a statement of an account that
    is neither an omnibus nor a registered wallet's."""


def reconciled_account(statement: Statement,
                       lookup: Callable[[str], RegisteredAccount | None]) -> ReconciledAccount:
    """What the statement is of, from the registry; StatementRefused when it is of neither an
    omnibus account nor a registered wallet's account."""
    found = find_registered(statement.account, lookup)
    if found is None:
        raise StatementRefused(f"statement {statement.statement_id} is of account "
                               f"{statement.account or '(none)'}, which is not in the registry")
    if found.kind == OMNIBUS_KIND:
        return ReconciledAccount(OMNIBUS, found.account, found.currency)
    return ReconciledAccount(WALLET, found.account, found.currency, found.wallet)


class Reconciler:
    """Reconciles camt.053 messages in a unit of work (which the caller commits, or not)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 lookback: timedelta = DEFAULT_LOOKBACK) -> None:
        self.clock = clock
        self.lookback = lookback

    def reconcile(self, message: StatementMessage, uow: UnitOfWork, *, apply: bool) -> ReconciliationReport:
        """Every statement of the message, reconciled; with `apply`, the mints and reversals the
        statements cause are applied in `uow`. Raises StatementRefused (nothing applied)."""
        accounts = [reconciled_account(s, uow.accounts.get) for s in message.statements]
        if not message.statements:
            raise StatementRefused(f"camt.053 {message.message_id} holds no statement")
        return ReconciliationReport(
            tuple(self._statement(message.message_id, s, a, uow, apply)
                  for s, a in zip(message.statements, accounts, strict=True)),
            generated_at=self.clock(), dry_run=not apply)

    def _statement(self, message_id: str, statement: Statement, account: ReconciledAccount,
                   uow: UnitOfWork, apply: bool) -> StatementReconciliation:
        start, end = statement_period(statement)
        totals = statement_totals(statement, account.currency)
        if isinstance(totals, Inconsistency):
            return refused(message_id, statement, account, totals, start, end)
        since = start - self.lookback if start is not None else None
        if account.kind == OMNIBUS:
            movements = supply_movements(uow.ledger.journal(currency=account.currency, start=since))
        else:
            movements = wallet_movements(uow.ledger.journal(wallet=account.wallet,
                                                            currency=account.currency, start=since))
        references = payment_references_of(statement, account, uow.accounts.get)
        movements += _claimed_mints(uow, references, {m.key for m in movements})
        plan = plan_statement(statement, account, movements, uow.accounts.get)
        entries, applied = self._settle(plan, uow, apply)
        opening, closing = (self._measure(uow, account, moment) for moment in (start, end))
        return conclude(message_id, statement, totals, plan, entries, start=start, end=end,
                        ledger_opening=opening if start is not None else None,
                        ledger_closing=closing, applied=applied)

    def _settle(self, plan: Plan, uow: UnitOfWork, apply: bool) -> tuple[list[EntryOutcome], list[Movement]]:
        """The planned operations, applied (or in a dry run, not): each entry's final outcome,
        and the movements the ledger made now or holds by key beyond the candidates."""
        known = {m.key for m in plan.index.movements}
        entries: list[EntryOutcome] = []
        extra: list[Movement] = []
        for entry in plan.entries:
            operation = entry.operation
            if entry.status not in (PLANNED_MINT, PLANNED_UNDO) or operation is None:
                entries.append(entry)
                continue
            existing = uow.ledger.find(operation.key)
            if existing is not None:
                movement = _movement(existing.operation, existing.applied_at)
                if movement.key not in known:
                    extra.append(movement)
                    known.add(movement.key)
                if existing.operation.fingerprint == operation.fingerprint:
                    entries.append(replace(entry, status=MATCHED, movement=movement, basis=KEY))
                else:
                    reason = (f"the ledger holds {operation.key} for other content: "
                              f"{_describe(existing.operation)}")
                    entries.append(replace(entry, status=MATCHED_WITH_DIFFERENCE, movement=movement,
                                           basis=KEY, operation=None, reason=reason))
                continue
            if not apply:
                entries.extend(dry_run([entry]))
                continue
            outcome = uow.ledger.apply(operation, mint_claim(operation, STATEMENT_ROAD)
                                       if entry.status == PLANNED_MINT else None)
            if outcome.result in (APPLIED, REPLAYED):
                movement = _movement(operation, self.clock())
                if movement.key not in known:
                    extra.append(movement)
                    known.add(movement.key)
                done = MINTED if entry.status == PLANNED_MINT else REVERSED
                status = done if outcome.result == APPLIED else MATCHED
                entries.append(replace(entry, status=status, movement=movement))
            else:
                rejection = outcome.rejection
                why = (f"the ledger refused it: {rejection.reason} {rejection.info}" if rejection
                       else "the ledger refused it")
                entries.append(replace(entry, status=UNAPPLIED_CREDIT if entry.status == PLANNED_MINT
                                       else MISSING_ON_LEDGER, reason=why))
        return entries, extra

    @staticmethod
    def _measure(uow: UnitOfWork, account: ReconciledAccount, moment: datetime | None) -> int:
        if account.kind == OMNIBUS:
            return uow.ledger.supply(as_of=moment).get(account.currency, 0)
        return next((b.balance for b in uow.ledger.balances(as_of=moment)
                     if b.wallet == account.wallet and b.currency == account.currency), 0)


def _claimed_mints(uow: UnitOfWork, references: list[str], known: set[str]) -> list[Movement]:
    """The mints (not among `known`) that claimed any of `references`: candidates for the
    statement's entries whatever their date, so that a payment is minted once."""
    if not references:
        return []
    found = []
    for key in dict.fromkeys(c.operation_key for c in uow.ledger.find_claims(references)):
        recorded = uow.ledger.find(key) if key not in known else None
        if recorded is not None and recorded.operation.kind == MINT:
            found.append(_movement(recorded.operation, recorded.applied_at))
    return found


def _movement(operation: TokenOperation, posted_at: datetime) -> Movement:
    """A mint or burn as the token supply moved (statements apply only those)."""
    amount = operation.amount if operation.kind == MINT else -operation.amount
    wallet = operation.credit_wallet if operation.kind == MINT else operation.debit_wallet
    return Movement(operation.key, operation.kind, operation.currency, amount, posted_at,
                    operation.refs, wallet=wallet)


def _describe(operation: TokenOperation) -> str:
    return (f"{operation.kind} of {operation.amount} minor units of {operation.currency} "
            f"{'to ' + operation.credit_wallet if operation.credit_wallet else ''}"
            f"{'from ' + operation.debit_wallet if operation.debit_wallet else ''}").strip()


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What the pipeline records and sends for one camt.053."""

    verdict: str  # accepted (clean), breaks, or refused
    summary: str
    report: ReconciliationReport | None = None
    reply: OutboundMessage | None = None


def reconcile_statement_message(message: StatementMessage, uow: UnitOfWork, *, apply: bool,
                                clock: Callable[[], datetime],
                                correlation_id: str | None = None) -> StatementOutcome:
    """The pipeline's step for a camt.053: reconcile, and answer with the report (JSON) as a
    `report.reconciliation` message for `tokenbridge.out`."""
    try:
        report = Reconciler(clock).reconcile(message, uow, apply=apply)
    except StatementRefused as exc:
        return StatementOutcome(REFUSED, f"refused: {exc}")
    body = json.dumps(report_to_dict(report), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    reply = OutboundMessage(new_message_id(), correlation_id or message.message_id,
                            REPORT_MESSAGE_TYPE, body, content_type="application/json")
    counts: dict[str, int] = {}
    for b in report.breaks:
        counts[b.category] = counts.get(b.category, 0) + 1
    entries = sum(len(s.entries) for s in report.statements)
    if report.clean:
        return StatementOutcome(CLEAN, f"reconciled clean: {len(report.statements)} statement(s), "
                                       f"{entries} entries", report, reply)
    listed = ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
    return StatementOutcome(BREAKS, f"reconciled with breaks: {listed}", report, reply)
