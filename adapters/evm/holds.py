"""Holds on the EVM ledger (bridge.holds): the hold is kept twice, in the store's `holds` table
(adapters.sql.holds: terms, state, how it ended; the scheduler and releases read it) and on
chain (DepositToken.hold, by reference), so that no transfer can spend around it there either.

Each step on chain is an operation row that goes through the nonce book like a payment:

- placing: a row of kind "hold" under `hold:<key>`, whose payment reference is the hold's
  reference (`hold_ref`); the amount leaves the debtor's available balance at once;
- executed: the payment's own row under its key, with `hold_ref` set: signed as
  `executeHold(holdRef, paymentRef)`, confirmed by its Settled event, reported ACSC as any other;
- voided: a row of kind "void" under `void:<key>` (`voidHold`); the amount is available again
  at once (the void is signed after the hold: nonces follow the rows' order).

Hold and void rows never answer a pacs.002 of their own; a hold row that fails on chain fails
the payment (RJCT follow-up). A mint has no debtor: it is held in the store only, and executing
it plans the mint.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

import structlog
from sqlalchemy import Connection, Row

from adapters.evm.book import ACSP, RJCT, StatusChange, credit_available, operation_of, payment_ref
from adapters.evm.chain import HOLD_GAS_LIMITS
from adapters.evm.settlement import queries
from adapters.evm.tables import HOLD, PLANNED, VOID, evm_operations
from adapters.sql import audit
from adapters.sql import holds as held_rows
from adapters.sql.ledger import utc_naive
from bridge.audit import EVM_OPERATION
from bridge.holds.terms import HoldEnding, HoldState
from bridge.operations import TokenOperation

log = structlog.get_logger("tokenbridge.evm")

HOLD_FAILED_INFO = "the hold could not be placed on chain"


def hold_ref(key: str) -> str:
    """The on-chain reference of the hold of the payment under `key`: its hold row's payment
    reference (0x + sha256 of `hold:<key>`)."""
    return "0x" + hashlib.sha256(f"{HOLD}:{key}".encode()).hexdigest()


def plan(connection: Connection, operation: TokenOperation, *, kind: str, key: str, ref: str,
         expiry: int | None, now: datetime) -> None:
    """Record a hold's step as a planned operation row (signed by the next settlement round)."""
    under = replace(operation, key=key)
    refs = operation.refs
    row = dict(
        key=key, payment_ref=payment_ref(under), kind=kind, currency=operation.currency,
        amount=operation.amount, debit_wallet=operation.debit_wallet,
        credit_wallet=operation.credit_wallet, fingerprint=under.fingerprint,
        message_id=refs.message_id, end_to_end_id=refs.end_to_end_id,
        transaction_id=refs.transaction_id, uetr=refs.uetr, instruction_id=refs.instruction_id,
        account_servicer_ref=refs.account_servicer_ref, state=PLANNED,
        gas_limit=HOLD_GAS_LIMITS["execute" if kind == operation.kind else kind], attempts=0,
        planned_at=utc_naive(now), hold_ref=ref, hold_expiry=expiry)
    connection.execute(evm_operations.insert().values(**row))
    audit.record(connection, EVM_OPERATION, key, audit.certified(EVM_OPERATION, row))


def plan_void(connection: Connection, operation: TokenOperation, now: datetime) -> None:
    """Void the payment's hold on chain (the available balance is the caller's to give back)."""
    plan(connection, operation, kind=VOID, key=f"{VOID}:{operation.key}", ref=hold_ref(operation.key),
         expiry=None, now=now)


def failed_on_chain(connection: Connection, row: Row, reason: str, info: str,
                    now: datetime) -> StatusChange | None:
    """A hold or void row failed on chain. A hold: the payment fails (RJCT, the change to
    report) unless it ended meanwhile; its reserve is available again. A void: logged (the hold
    stays on chain; the books gave the amount back already)."""
    if row.kind == VOID:
        log.error("evm.void_failed", key=row.key, hold_ref=row.hold_ref, reason=reason, info=info)
        return None
    key = row.key.removeprefix(f"{HOLD}:")
    held = held_rows.lock_hold(connection, key)
    if held is None or held.state != HoldState.HELD:
        # Executed meanwhile: its row reverts on chain (HoldNotHeld) and fails as any payment.
        # Voided: the void gave the reserve back and reverts too.
        log.error("evm.hold_failed", key=key, state=held.state if held else None, reason=reason)
        return None
    held_rows.end(connection, key, HoldEnding(HoldState.VOIDED, reason, "chain", now))
    if row.debit_wallet:
        credit_available(connection, row.debit_wallet, row.currency, row.amount)
    log.warning("evm.hold_failed", key=key, reason=reason, info=info)
    return StatusChange(key, held.operation, ACSP, RJCT, reason, f"{HOLD_FAILED_INFO}: {info}",
                        row.tx_hash, None, now)


def executes_hold(row: Row) -> bool:
    """Whether a payment's row executes a hold (it failing or cancelled: the hold is voided)."""
    return row.hold_ref is not None and row.kind not in (HOLD, VOID)


def void_after(connection: Connection, row: Row, now: datetime) -> None:
    """A held payment's execution will never happen (cancelled, failed): void its hold on
    chain, so that the reserve is free there too (release() gave it back in the books)."""
    found = connection.execute(queries.BY_KEY, {"key": f"{VOID}:{row.key}"}).first()
    if found is None:
        plan(connection, operation_of(row), kind=VOID, key=f"{VOID}:{row.key}", ref=row.hold_ref,
             expiry=None, now=now)

