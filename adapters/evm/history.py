"""What the chain says happened: Settled events read once, then only the new blocks."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.evm.chain import SettledLog, TokenChain


@dataclass(frozen=True, slots=True)
class Token:
    """A deployed deposit token: its currency, address and the block it was deployed in."""

    currency: str
    address: str
    deployed_block: int
    chain_id: int


class ChainHistory:
    """Settled events per token, cached below `stable_depth` blocks (deeper blocks do not change;
    the newest ones may, so they are read again each time)."""

    def __init__(self, chain: TokenChain, stable_depth: int) -> None:
        self.chain = chain
        self.stable_depth = max(1, stable_depth)
        self._logs: dict[str, list[SettledLog]] = {}
        self._read_to: dict[str, int] = {}

    def settled(self, tokens: Mapping[str, Token], to_block: int) -> list[tuple[str, SettledLog]]:
        """(currency, event) for every token, up to `to_block`, in chain order."""
        found: list[tuple[str, SettledLog]] = []
        stable = to_block - self.stable_depth
        for currency, token in tokens.items():
            read_to = self._read_to.get(token.address, token.deployed_block - 1)
            if read_to < stable:
                self._logs.setdefault(token.address, []).extend(
                    self.chain.settled_logs([token.address], read_to + 1, stable))
                self._read_to[token.address] = read_to = stable
            tail = self.chain.settled_logs([token.address], max(read_to + 1, token.deployed_block), to_block)
            found.extend((currency, s) for s in self._logs.get(token.address, []) + tail)
        found.sort(key=lambda pair: (pair[1].block_number, pair[1].log_index))
        return found
