"""An operation row as the chain sees it: the contract call it signs, its token, and whether a
Settled event is it."""
from __future__ import annotations

from sqlalchemy import Connection, Row

from adapters.evm.chain import SettledLog, TokenChain, as_address
from adapters.evm.settlement import queries


def call_data(chain: TokenChain, row: Row) -> str:
    """The contract call of an operation (mint, transferBetween or burn)."""
    return chain.call_data(row.kind, as_address(row.debit_wallet), as_address(row.credit_wallet),
                           row.amount, row.payment_ref)


def token_address(connection: Connection, currency: str) -> str:
    """The address of the currency's deposit token."""
    return connection.execute(queries.TOKEN_ADDRESS, {"currency": currency}).scalar_one()


def same_content(row: Row, settled: SettledLog, currency: str) -> bool:
    """Whether a Settled event is this operation (and not another one under its reference)."""
    return (row.currency == currency and row.amount == settled.amount and row.kind == settled.kind
            and as_address(row.debit_wallet) == settled.from_wallet
            and as_address(row.credit_wallet) == settled.to_wallet)
