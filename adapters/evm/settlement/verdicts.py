"""What a verdict about a transaction that will not settle as sent does to its operation:
adopted (an earlier attempt settled), planned again (signed anew next round), or failed (RJCT:
available balances restored, the payment's references freed, the change reported once).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Row

from adapters.evm.book import ACSP, RJCT, StatusChange, operation_of
from adapters.evm.chain import MAX_GAS_LIMIT, TokenChain
from adapters.evm.settlement.cancelling import release
from adapters.evm.errors import (
    DUPLICATE,
    DUPLICATE_REASON,
    INSUFFICIENT,
    MORE_GAS,
    REJECT,
    UNSPECIFIED,
    Verdict,
)
from adapters.evm import holds as chain_holds
from adapters.evm.settlement import queries
from adapters.evm.tables import HOLD, VOID
from adapters.evm.settlement.operations import same_content, token_address
from adapters.sql.ledger import utc_naive
from adapters.sql.store import SqlStore
from adapters.sql.transaction import SqlTransaction
from bridge.ports import ChangeReport

log = structlog.get_logger("tokenbridge.evm")

MAX_ATTEMPTS = 5
"""Signings of one operation (out of gas, nonce taken, issuer not authorised, ...) before it is
rejected MS03: past that, an operator has to look, and the payer gets an answer."""

class Verdicts:
    """Applies verdicts; keeps the failures decided since they were last taken."""

    def __init__(self, store: SqlStore, chain: TokenChain, clock: Callable[[], datetime],
                 report: ChangeReport, *, reapply_lost: bool = True) -> None:
        self.store = store
        self.reapply_lost = reapply_lost  # a lost operation goes back on chain: others wait for it
        self.chain = chain
        self.clock = clock
        self.report = report
        self._decided: list[StatusChange] = []

    def take_decided(self) -> list[StatusChange]:
        """The failures decided since the last call (each returned once)."""
        decided, self._decided = self._decided, []
        return decided

    def decide(self, tx_hash: str, verdict: Verdict, *, nonce_consumed: bool) -> None:
        """Apply a verdict about a transaction that will not settle as sent: to its operation,
        or to both legs of a PvP (the transaction carries both: they fail or retry together)."""
        with self.store.transaction() as transaction:
            for row in transaction.connection.execute(queries.SUBMITTED_AS, {"tx_hash": tx_hash}).all():
                self._decide(transaction, row, tx_hash, verdict, nonce_consumed)

    def _decide(self, transaction: SqlTransaction, row: Row, tx_hash: str, verdict: Verdict,
                nonce_consumed: bool) -> None:
        connection = transaction.connection
        release = not nonce_consumed
        if verdict.action == DUPLICATE:
            self._adopt_or_reject(transaction, row, release_nonce=release)
        elif verdict.action == REJECT and self._overtook(connection, row, verdict):
            # It ran before what funds it (whose nonce was taken, or ran out of gas): planned
            # again after it, never answered AM04 for the bridge's own ordering.
            log.warning("evm.replanned", key=row.key, tx_hash=tx_hash, why="overtook its funding",
                        info=verdict.info, attempts=row.attempts)
            connection.execute(queries.REPLANNED, {"row": row.seq, "gas_limit": row.gas_limit})
        elif verdict.action == REJECT:
            self.fail(transaction, row, verdict.reason or UNSPECIFIED, verdict.info,
                      release_nonce=release)
        elif row.attempts >= MAX_ATTEMPTS:
            self.fail(transaction, row, UNSPECIFIED,
                      f"gave up after {row.attempts} attempts: {verdict.info}", release_nonce=release)
        else:  # MORE_GAS, RETRY: plan again; the reference check makes a resend harmless
            gas = min(MAX_GAS_LIMIT, row.gas_limit * 2) if verdict.action == MORE_GAS else row.gas_limit
            log.warning("evm.replanned", key=row.key, tx_hash=tx_hash, why=verdict.action,
                        info=verdict.info, attempts=row.attempts)
            connection.execute(queries.REPLANNED, {"row": row.seq, "gas_limit": gas})

    def _overtook(self, connection, row: Row, verdict: Verdict) -> bool:
        """An AM04 revert of an operation that counted on an earlier one not settled yet, or
        lost in a deep reorg and being re-applied (the available balance did: apply() took the
        amount from it)."""
        return (verdict.reason == INSUFFICIENT and row.debit_wallet is not None
                and row.attempts < MAX_ATTEMPTS
                and connection.execute(queries.FUNDED_BY_EARLIER, {
                    "row": row.seq, "currency": row.currency, "wallet": row.debit_wallet,
                    "lost_too": self.reapply_lost}).first() is not None)

    def _adopt_or_reject(self, transaction: SqlTransaction, row: Row, *, release_nonce: bool) -> None:
        """The chain refused the reference as used: ours (an earlier attempt settled) or not?"""
        connection = transaction.connection
        token = token_address(connection, row.currency)
        block = int(self.chain.token_call(token, "settledIn", bytes.fromhex(row.payment_ref[2:])))
        found = self.chain.settled_logs([token], block, block, row.payment_ref) if block else []
        if found and same_content(row, found[0], row.currency):
            connection.execute(queries.adopted(release_nonce), {
                "row": row.seq, "block_number": found[0].block_number,
                "block_hash": found[0].block_hash, "tx_hash": found[0].tx_hash})
            return
        self.fail(transaction, row, DUPLICATE_REASON,
                  f"payment reference {row.payment_ref} was already used on chain for a "
                  "different operation", release_nonce=release_nonce)

    def fail(self, transaction: SqlTransaction, row: Row, reason: str, info: str, *,
             release_nonce: bool = False) -> None:
        """The operation failed, unless it is final already: RJCT, reported once."""
        connection = transaction.connection
        now = self.clock()
        done = connection.execute(queries.failed(release_nonce), {
            "row": row.seq, "reason": reason, "info": info, "settled_at": utc_naive(now)})
        if done.rowcount != 1:
            return
        if row.kind in (HOLD, VOID):  # a hold's own row: the payment fails only if its hold did
            change = chain_holds.failed_on_chain(connection, row, reason, info, now)
            if change is not None:
                self.report(transaction, [change])
                self._decided.append(change)
            return
        release(connection, row)  # nothing was minted: its references are free for another road
        if chain_holds.executes_hold(row):
            chain_holds.void_after(connection, row, now)
        log.warning("evm.failed", key=row.key, tx_hash=row.tx_hash, reason=reason, info=info)
        change = StatusChange(row.key, operation_of(row), ACSP, RJCT, reason, info, row.tx_hash,
                              None, now, cancellation=row.cancel_requested_by)
        self.report(transaction, [change])
        self._decided.append(change)
