"""The settler: one settlement round over the store's EVM operations (see the package doc)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime


from adapters.evm.book import StatusChange
from adapters.evm.chain import TokenChain
from adapters.evm.settlement import nonces, queries
from adapters.evm.settlement.broadcast import Broadcaster
from adapters.evm.settlement.cancelling import Cancelling
from adapters.evm.settlement.confirmation import Confirmation
from adapters.evm.settlement.guard import ChainLost, check_tokens
from adapters.evm.settlement.reorg import LOOKBACK_BLOCKS, ReorgWatch
from adapters.evm.settlement.scanning import Scanner
from adapters.evm.settlement.verdicts import Verdicts
from adapters.sql.store import SqlStore
from bridge.ports import ChangeReport, Settlement, StoreTransaction


class Settler(Settlement):
    """Advances the store's EVM operations; one per process and store."""

    def __init__(self, store: SqlStore, chain: TokenChain, *, confirmations: int = 1,
                 max_in_flight: int = 500,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_changes: ChangeReport | None = None, reapply_lost: bool = True,
                 reorg_lookback: int = LOOKBACK_BLOCKS) -> None:
        self.store = store
        self.engine = store.engine
        self.chain = chain
        self.max_in_flight = max(1, max_in_flight)
        self.on_changes = on_changes  # called in the transaction that records the changes
        self.verdicts = Verdicts(store, chain, clock, self._report, reapply_lost=reapply_lost)
        self.broadcaster = Broadcaster(store, chain, clock, self.verdicts)
        self.scanner = Scanner(store, chain, self.verdicts, confirmations)
        self.confirmation = Confirmation(store, chain, confirmations, self._report)
        self.cancelling = Cancelling(store, chain, confirmations, clock, self._report)
        self.alerts: Counter[str] = Counter()  # chain alerts since last taken (the worker's metric)
        self.reorgs = ReorgWatch(store, chain, clock, self.alerts, reapply=reapply_lost,
                                 lookback=reorg_lookback)

    def take_alerts(self) -> dict[str, int]:
        """Chain alerts raised since the last call, by kind (chain_lost, confirmed_lost)."""
        taken = dict(self.alerts)
        self.alerts.clear()
        return taken

    def settle(self) -> list[StatusChange]:
        """One round: check that the node holds the tokens' chain (guard.py: else `ChainLost`,
        nothing signed), submit what is planned, replace what is to be cancelled, follow what
        is submitted; the status changes."""
        try:
            with self.engine.begin() as connection:
                check_tokens(connection, self.chain)
        except ChainLost as lost:
            self.alerts[lost.alert] += 1
            raise
        self.submit()
        self.cancelling.replace()
        return self.track()

    def pending(self) -> int:
        """Operations not final yet (planned or submitted)."""
        with self.engine.connect() as connection:
            return connection.execute(queries.COUNT_UNFINAL).scalar_one()

    def submit(self) -> int:
        """Sign, record and broadcast planned operations; how many were submitted."""
        return self.broadcaster.submit(self.max_in_flight)

    def track(self) -> list[StatusChange]:
        """Follow submitted operations to finality: the changes decided or confirmed."""
        latest = self.chain.latest()
        self.scanner.scan(latest)
        # "latest", not the block number: a pruning node (anvil --prune-history) keeps no older
        # state. A nonce used in a block newer than the scan is found mined by its receipt.
        consumed = self.chain.nonce_at("latest")
        with self.engine.connect() as connection:
            unmined = connection.execute(queries.UNMINED_BY_NONCE).all()
        for row in unmined:  # by nonce: the used ones come first
            if row.nonce < consumed:
                self.scanner.resolve_used_nonce(row, latest)
        self.scanner.forget_taken({row.tx_hash for row in unmined if row.nonce < consumed})
        self.broadcaster.look_up([row for row in unmined if row.nonce >= consumed])
        changes = self.verdicts.take_decided()
        changes.extend(self.cancelling.follow(latest, consumed))
        changes.extend(self.confirmation.confirm(latest))
        if self.reorgs.check(latest, consumed) or self.confirmation.reorged:
            self.broadcaster.look_up_all()  # a reorg drops transactions: broadcast them again
        nonces.fill_gaps(self.engine, self.chain, consumed)
        return changes

    def _report(self, transaction: StoreTransaction, changes: Sequence[StatusChange]) -> None:
        if self.on_changes is not None:
            self.on_changes(transaction, changes)
