"""The SQL ledger's holds (bridge.holds): a row per hold in `holds`, its reserve in the debtor's
balance row (`balances.held`), both written under that row's lock (FOR UPDATE; SQLite's writer
lock), so that no debit decided meanwhile can take what a hold keeps.

Unlike operations, hold rows are written at once (not at commit): a hold is rare next to
payments, and the scheduler and releases read and lock them row by row.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, and_, bindparam, select, update

from adapters.sql.tables import balances, holds
from bridge.codes import Reason, Status
from bridge.holds.terms import Hold, HoldEnding, HoldKind, HoldState, HoldTerms
from bridge.operations import PaymentRefs, TokenOperation
from bridge.ports import REPLAYED, LedgerOutcome, RecordedOperation

FIND_HOLDS = select(holds).where(holds.c.key.in_(bindparam("keys", expanding=True)))
LOCK_HOLD = select(holds).where(holds.c.key == bindparam("k")).with_for_update()
RESERVE = (update(balances)
           .where(and_(balances.c.wallet == bindparam("w"), balances.c.currency == bindparam("c")))
           .values(held=balances.c.held + bindparam("n")))
END_HOLD = (update(holds).where(and_(holds.c.key == bindparam("k"), holds.c.state == HoldState.HELD))
            .values(state=bindparam("state"), ended_at=bindparam("at"), end_reason=bindparam("reason"),
                    ended_by=bindparam("by")))
COUNT_WRONG = (update(holds).where(holds.c.key == bindparam("k"))
               .values(wrong_fulfilments=holds.c.wrong_fulfilments + 1))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=timezone.utc)


def hold_row(operation: TokenOperation, terms: HoldTerms, now: datetime) -> dict:
    refs = operation.refs
    return dict(key=operation.key, hold_kind=terms.kind, state=HoldState.HELD, kind=operation.kind,
                currency=operation.currency, amount=operation.amount,
                debit_wallet=operation.debit_wallet, credit_wallet=operation.credit_wallet,
                fingerprint=operation.fingerprint, message_id=refs.message_id,
                end_to_end_id=refs.end_to_end_id, transaction_id=refs.transaction_id, uetr=refs.uetr,
                instruction_id=refs.instruction_id, expires_at=_naive(terms.expiry), sha256=terms.sha256,
                created_at=_naive(now))


def hold_of(row) -> Hold:
    operation = TokenOperation(row.key, row.kind, row.currency, row.amount, row.debit_wallet,
                               row.credit_wallet, PaymentRefs(row.message_id, row.end_to_end_id,
                                                              row.transaction_id, row.uetr,
                                                              row.instruction_id))
    return Hold(operation, HoldTerms(HoldKind(row.hold_kind), _aware(row.expires_at), row.sha256),
                HoldState(row.state), _aware(row.created_at), _aware(row.ended_at), row.end_reason,
                row.ended_by, row.wrong_fulfilments)


def read_holds(connection: Connection, keys: list[str]) -> dict[str, Hold]:
    return {row.key: hold_of(row) for row in connection.execute(FIND_HOLDS, {"keys": keys})}


def lock_hold(connection: Connection, key: str) -> Hold | None:
    row = connection.execute(LOCK_HOLD, {"k": key}).first()
    return None if row is None else hold_of(row)


def add_hold(connection: Connection, row: dict) -> None:
    connection.execute(holds.insert(), row)


def reserve(connection: Connection, wallet: str, currency: str, amount: int) -> None:
    """held += amount (negative: released) on a balance row this unit holds locked."""
    if connection.execute(RESERVE, {"w": wallet, "c": currency, "n": amount}).rowcount != 1:
        raise RuntimeError(f"no balance row for {wallet} {currency} to reserve on")


def end(connection: Connection, key: str, ending: HoldEnding) -> bool:
    """Mark a held hold executed or voided; False when it was not held any more."""
    return connection.execute(END_HOLD, {"k": key, "state": ending.state, "at": _naive(ending.at),
                                         "reason": (ending.reason or "")[:140] or None,
                                         "by": ending.by[:100]}).rowcount == 1


def count_wrong(connection: Connection, key: str) -> None:
    connection.execute(COUNT_WRONG, {"k": key})


def list_holds(connection: Connection, state: HoldState | None, ends_before: datetime | None) -> list[Hold]:
    query = select(holds).order_by(holds.c.created_at, holds.c.key)
    if state is not None:
        query = query.where(holds.c.state == state)
    if ends_before is not None:
        query = query.where(holds.c.expires_at <= _naive(ends_before))
    return [hold_of(row) for row in connection.execute(query)]


def as_held(on_hold: Hold, operation: TokenOperation) -> LedgerOutcome:
    """A key already held: the same payment again (replayed, with the hold's status), or AM05."""
    if on_hold.operation.fingerprint != operation.fingerprint:
        return LedgerOutcome.rejected(Reason.DUPLICATION, f"idempotency key {operation.key} was "
                                                        "already used for a different payment")
    return LedgerOutcome(REPLAYED, status=recorded_hold(on_hold).status)


def recorded_hold(on_hold: Hold) -> RecordedOperation:
    """A held payment as an operation: pending (ACSP) while held, RJCT (cancelled) once voided."""
    voided = on_hold.state == HoldState.VOIDED
    return RecordedOperation(on_hold.operation, 0, on_hold.created_at or datetime.now(timezone.utc),
                             status=Status.REJECTED if voided else Status.ACCEPTED_SETTLEMENT_IN_PROCESS,
                             cancelled=voided)
