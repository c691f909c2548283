"""The issuer's nonces: kept in the store, not asked of the node per transaction.

The store's `evm_senders.next_nonce` is locked while a round hands nonces out, so concurrent
settlers never sign two transactions with one nonce; a nonce given up (its operation refused by
the node, or planned again) is handed out again, or used up by a filler so that it does not
hold back every later transaction.
"""
from __future__ import annotations

from collections.abc import Iterator

import structlog
from sqlalchemy import Connection, Engine

from adapters.evm.chain import TokenChain
from adapters.evm.settlement import queries

log = structlog.get_logger("tokenbridge.evm")


def lock_sender(connection: Connection, chain: TokenChain, chain_pending: int) -> int:
    """The issuer's next nonce, locked for this transaction (FOR UPDATE; SQLite's write
    lock is already held), never below what the chain has seen."""
    row = connection.execute(queries.LOCK_SENDER, {"address": chain.address}).first()
    if row is None:
        connection.execute(queries.ADD_SENDER, {"address": chain.address, "chain_id": chain.chain_id,
                                                "next_nonce": chain_pending})
        return chain_pending
    if row.chain_id != chain.chain_id:
        raise RuntimeError(f"the store's issuer nonces are for chain {row.chain_id}, the node "
                           f"is chain {chain.chain_id}")
    return max(row.next_nonce, chain_pending)


def held_nonces(connection: Connection, lowest: int) -> set[int]:
    """Nonces the store's operations hold, from `lowest` up."""
    return set(connection.execute(queries.NONCES_FROM, {"lowest": lowest}).scalars())


def free_nonces(chain_pending: int, next_nonce: int, held: set[int]) -> Iterator[int]:
    """Nonces to hand out, lowest first: gaps left below the store's next nonce, then new ones."""
    for nonce in range(chain_pending, next_nonce):
        if nonce not in held:
            yield nonce
    nonce = max(next_nonce, chain_pending)
    while True:
        if nonce not in held:
            yield nonce
        nonce += 1


def handed_out(connection: Connection, chain: TokenChain, top: int) -> None:
    """Nonces below `top` are handed out: the issuer's next nonce is at least `top`."""
    connection.execute(queries.raise_next_nonce(connection.dialect.name),
                       {"sender": chain.address, "top": top})


def fill_gaps(engine: Engine, chain: TokenChain, consumed: int) -> None:
    """A nonce below a submitted one that nothing will use (its operation was refused by the
    node, or planned again; or a reorg gave it back, with the transaction of a failed operation
    that held it) would hold back every later transaction: use it up. The nonce book follows
    the chain: only transactions still to be mined claim a nonce."""
    with engine.connect() as connection:
        waiting = connection.execute(queries.HIGHEST_WAITING_NONCE, {"lowest": consumed}).scalar()
        if waiting is None:
            return
        claimed = set(connection.execute(queries.WAITING_NONCES_FROM, {"lowest": consumed}).scalars())
    pending = chain.nonce_at("pending")
    gaps = [n for n in range(max(consumed, pending), waiting) if n not in claimed]
    if not gaps:
        return
    fees = chain.fees()
    for nonce in gaps:
        log.info("evm.gap_filled", nonce=nonce)
        chain.send(chain.sign_filler(nonce, fees).raw)
