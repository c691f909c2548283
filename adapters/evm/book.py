"""The store side of the EVM ledger: operation rows, their ISO status, available balances.

An operation moves planned -> submitted -> confirmed, or -> failed; a technical failure (out of
gas, nonce taken) sends it back to planned to be signed again, never twice on chain because the
contract refuses a reused payment reference. Its pacs.002 status follows and never goes back:

    planned, submitted -> ACSP    confirmed -> ACSC    failed, cancelled -> RJCT

A cancellation on request (camt.056) takes a planned operation to cancelled at once; a submitted
one only once the chain has used its nonce for a no-op instead (settlement/cancelling.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from adapters.evm.tables import CANCELLED, CONFIRMED, FAILED, PLANNED, SUBMITTED, evm_available
from adapters.sql import statements
from adapters.sql.ledger import add_to_balance, as_utc, take_from_balance
from bridge.codes import Status
from bridge.money import LEDGER_MAX_UNITS
from bridge.operations import BURN, PaymentRefs, TokenOperation
from bridge.ports import issuance_holder
from bridge.settlement.changes import SettlementChange

ACSP, ACSC, RJCT = (Status.ACCEPTED_SETTLEMENT_IN_PROCESS, Status.ACCEPTED_SETTLEMENT_COMPLETED,
                    Status.REJECTED)

ISO_STATUS = {PLANNED: ACSP, SUBMITTED: ACSP, CONFIRMED: ACSC, FAILED: RJCT, CANCELLED: RJCT}


StatusChange = SettlementChange
"""An operation's pacs.002 status moved on: the core's `SettlementChange`."""


def payment_ref(operation: TokenOperation) -> str:
    """The on-chain bytes32 reference of an operation, as 0x-hex."""
    return "0x" + operation.key_bytes32.hex()


def operation_of(row) -> TokenOperation:
    return TokenOperation(
        key=row.key, kind=row.kind, currency=row.currency, amount=row.amount,
        debit_wallet=row.debit_wallet, credit_wallet=row.credit_wallet,
        refs=PaymentRefs(row.message_id, row.end_to_end_id, row.transaction_id, row.uetr,
                         row.instruction_id, row.account_servicer_ref))


def settled_at(row) -> datetime | None:
    return None if row.settled_at is None else as_utc(row.settled_at)


def credit_available(connection: Connection, wallet: str, currency: str, amount: int) -> None:
    add_to_balance(connection, evm_available.c.available, wallet, currency, amount)


def debit_available(connection: Connection, wallet: str, currency: str, amount: int) -> bool:
    """Take `amount` from what the wallet will hold once everything in flight has settled;
    False (nothing taken) when that is not enough. Conditional, so concurrent workers never
    overdraw a wallet between them."""
    return take_from_balance(connection, evm_available.c.available, wallet, currency, amount)


def take_supply_room(connection: Connection, currency: str, amount: int) -> bool:
    """A mint takes `amount` from the issuance account's available balance (`issuance:<CCY>`:
    minus the most the supply can be once everything in flight settles), only while that supply
    stays within LEDGER_MAX_UNITS; False (nothing taken) when it would not. Atomic, so
    concurrent workers cannot pass the limit between them."""
    found = connection.execute(statements.shift_within(connection.dialect.name, evm_available.c.available), {
        "wallet": issuance_holder(currency), "currency": currency, "amount": -amount,
        "floor": amount - LEDGER_MAX_UNITS, "ceiling": 0}).first()
    return found is not None


def give_back_supply_room(connection: Connection, currency: str, amount: int) -> None:
    """A burn confirmed on chain, or a mint that failed: the supply can no longer reach as far.
    A burn gives its room back only once final, so that a mint never takes room a burn that
    then fails on chain still needs."""
    add_to_balance(connection, evm_available.c.available, issuance_holder(currency), currency, amount)


def reverse_available(connection: Connection, currency: str, amount: int, debit: str | None,
                      credit: str | None) -> None:
    """Undo an operation's effect on available balances (it failed on chain)."""
    if debit:
        credit_available(connection, debit, currency, amount)
    if credit:
        credit_available(connection, credit, currency, -amount)
    if debit is None:  # a failed mint: its room in the supply is free again
        give_back_supply_room(connection, currency, amount)


def settled_burn(connection: Connection, row) -> None:
    """What an operation confirmed on chain changes in the book: a burn's room in the supply."""
    if row.kind == BURN:
        give_back_supply_room(connection, row.currency, row.amount)

