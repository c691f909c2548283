"""Is the node still the chain the tokens were deployed on? A node that lost its state and came
back with a fresh chain keeps its chain id, takes transactions, and mines a mint sent to an
address with no code as a success with no event; every later one then queues behind a nonce
gap. So before each settlement round, at start and in `ledger init`, each token must have code
at its address and its deployment block the hash recorded when it was deployed (recorded on
first check for tokens deployed before the hash was kept). Otherwise nothing is signed: the
round fails with `ChainLost` (an `evm.chain_lost` error line and the chain-alerts metric) and
planned operations stay planned, answered ACSP, until the node is back on the chain.
"""
from __future__ import annotations

import structlog
from sqlalchemy import Connection, select, update

from adapters.evm.chain import ChainConfigurationError, TokenChain
from adapters.evm.tables import evm_contracts

log = structlog.get_logger("tokenbridge.evm")

CHAIN_LOST = "chain_lost"


class ChainLost(ChainConfigurationError):
    """The node does not hold the tokens' chain (state lost, or another chain): nothing is
    signed until it does."""

    alert = CHAIN_LOST


def check_tokens(connection: Connection, chain: TokenChain) -> None:
    """Raise `ChainLost` unless every recorded token is on the node's chain (code and the
    deployment block's hash); records the hash (in the caller's transaction) where it was not
    recorded yet."""
    tokens = connection.execute(select(evm_contracts)).all()
    if not tokens:
        return
    hashes = chain.block_hashes(t.deployed_block for t in tokens)
    for token in tokens:
        found = hashes.get(token.deployed_block)
        if token.chain_id != chain.chain_id:
            problem = f"the node is chain {chain.chain_id}, the token is on chain {token.chain_id}"
        elif not chain.code_at(token.address):
            problem = f"no code at {token.address}"
        elif found is None:
            problem = f"the node has no block {token.deployed_block} (where it was deployed)"
        elif token.deployed_block_hash is not None and found != token.deployed_block_hash:
            problem = (f"block {token.deployed_block} (where it was deployed) is {found} on the "
                       f"node, not {token.deployed_block_hash}")
        else:
            if token.deployed_block_hash is None:
                connection.execute(update(evm_contracts).where(
                    evm_contracts.c.currency == token.currency).values(deployed_block_hash=found))
            continue
        log.error("evm.chain_lost", currency=token.currency, token=token.address, problem=problem)
        raise ChainLost(f"the {token.currency} token is not on the node's chain ({problem}): the "
                        "node lost its state or is another chain; nothing is settled until it is back")
