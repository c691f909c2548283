"""An operation row as the chain sees it: the contract call it signs, its token, and whether a
Settled event is it. The two legs of a payment-versus-payment are two rows in one transaction:
the debit leg carries it (a call of the settlement contract with both legs), the credit leg
rides in it (its `carrier` is the debit leg's seq)."""
from __future__ import annotations

from sqlalchemy import Connection, Row

from adapters.evm.chain import Leg, SettledLog, TokenChain, as_address
from adapters.evm.settlement import queries
from adapters.evm.tables import HOLD, VOID


def call_data(chain: TokenChain, row: Row) -> str:
    """The contract call of an operation (mint, transferBetween or burn), or of a hold's row:
    placing it, voiding it, or executing the held payment under the payment's reference."""
    if row.kind == HOLD:
        return chain.hold_call_data(row.hold_ref, as_address(row.debit_wallet),
                                    as_address(row.credit_wallet), row.amount, row.hold_expiry or 0)
    if row.kind == VOID:
        return chain.void_hold_call_data(row.hold_ref)
    if row.hold_ref is not None:
        return chain.execute_hold_call_data(row.hold_ref, row.payment_ref)
    return chain.call_data(row.kind, as_address(row.debit_wallet), as_address(row.credit_wallet),
                           row.amount, row.payment_ref)


def token_address(connection: Connection, currency: str) -> str:
    """The address of the currency's deposit token."""
    return connection.execute(queries.TOKEN_ADDRESS, {"currency": currency}).scalar_one()


def same_content(row: Row, settled: SettledLog, currency: str) -> bool:
    """Whether a Settled event (HoldPlaced, HoldVoided for a hold's row) is this operation (and
    not another one under its reference)."""
    if row.kind == VOID:
        return settled.kind == VOID and row.currency == currency and settled.payment_ref == row.hold_ref
    return (row.currency == currency and row.amount == settled.amount and row.kind == settled.kind
            and as_address(row.debit_wallet) == settled.from_wallet
            and as_address(row.credit_wallet) == settled.to_wallet)


def pvp_partner(connection: Connection, row: Row) -> Row | None:
    """The other leg of a PvP row (the one it carries, or its carrier); None for others."""
    if row.carrier is not None:
        return connection.execute(queries.BY_SEQ, {"seq": row.carrier}).first()
    return connection.execute(queries.CARRIED_BY, {"seqs": [row.seq]}).first()


def transaction_of(connection: Connection, chain: TokenChain, row: Row,
                   partner: Row | None = None) -> tuple[str, str]:
    """(to, data) of the chain transaction that settles `row` (with `partner`, its PvP leg): its
    token's call, or the settlement contract's `settle` with both legs."""
    if partner is None:
        return token_address(connection, row.currency), call_data(chain, row)
    debit, credit = (row, partner) if row.carrier is None else (partner, row)
    settlement = connection.execute(queries.SETTLEMENT_ADDRESS, {"chain_id": chain.chain_id}).scalar_one()
    return settlement, chain.pvp_call_data(_leg(connection, debit), _leg(connection, credit))


def _leg(connection: Connection, row: Row) -> Leg:
    return Leg(token_address(connection, row.currency), as_address(row.debit_wallet),
               as_address(row.credit_wallet), row.amount, row.payment_ref)
