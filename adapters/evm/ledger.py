"""The EVM ledger: deposit tokens on an EVM chain, behind the bridge's Ledger port.

`apply` never waits for the chain. In the message's unit of work (the SQL store's transaction)
it claims the idempotency key, checks the available balance and records the operation as
planned, answering ACSP; all of it commits, or rolls back, with the inbox record and the
pacs.002. The worker then calls `Settler.settle()` (adapters/evm/settlement/), which submits,
tracks and confirms on chain and reports each ACSP -> ACSC / RJCT change. Reads (balances, supply, journal) come from
the chain: contract state at the latest block, and the contracts' Settled events.

Wallets are addresses (the registry's `wallet` column holds 0x addresses); the issuer's key signs
everything. The range is the bridge's, not uint256's: a mint that would take the supply (so any
balance) past bridge.money's LEDGER_MAX_UNITS is refused AM02, as on the SQL ledger; the store
keeps minus the reachable supply as the issuance account's available balance (book.py). One contract per currency: see the README.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from adapters.config import REAPPLY
from adapters.evm.book import (
    ACSP,
    ISO_STATUS,
    credit_available,
    debit_available,
    operation_of,
    payment_ref,
    settled_at,
    take_supply_room,
)
from adapters.evm.chain import (
    GAS_LIMITS,
    PVP_GAS_LIMIT,
    ChainConfigurationError,
    TokenChain,
    as_address,
    connect,
    load_account,
)
from adapters.evm import holds as chain_holds
from adapters.evm.errors import INSUFFICIENT, INVALID_WALLET
from adapters.evm.history import ChainHistory, Token
from adapters.evm.settlement import Settler
from adapters.evm.settlement.operations import pvp_partner
from adapters.evm.settlement import queries
from adapters.evm.settlement.cancelling import CANCELLED_INFO, release
from adapters.evm.settlement.guard import check_tokens
from adapters.evm.settlement.reorg import LOOKBACK_BLOCKS
from adapters.evm.tables import (
    CANCELLED,
    CONFIRMED,
    FAILED,
    HOLD,
    PLANNED,
    SUBMITTED,
    evm_available,
    evm_contracts,
    evm_operations,
    evm_settlement,
)
from adapters.sql import audit
from adapters.sql.claims import Claims
from adapters.sql import holds as held_rows
from adapters.sql.ledger import ChangedMeanwhile, KeyTakenMeanwhile, as_utc, insert_ignoring_conflict, utc_naive
from adapters.sql.store import sql_store
from adapters.sql.transaction import sql_connection
from bridge.audit import EVM_OPERATION
from bridge.codes import Reason
from bridge.holds.terms import Hold, HoldEnding, HoldState, HoldTerms
from bridge.money import LEDGER_MAX_UNITS, minor_units
from bridge.operations import TRANSFER, PaymentRefs, TokenOperation
from bridge.ports import CANCELLED as CANCELLED_NOW  # the outcome; CANCELLED is the row's state
from bridge.ports import (
    APPLIED,
    CANCEL_PENDING,
    FINAL,
    NEVER_APPLIED,
    REPLAYED,
    CancellationOutcome,
    Ledger,
    LedgerDescription,
    LedgerOutcome,
    LedgerPlugin,
    LedgerSetUp,
    MintClaim,
    PaymentClaim,
    Posting,
    RecordedOperation,
    SettlingLedger,
    StoreTransaction,
    TransactionalStore,
    WalletBalance,
    apply_legs,
    issuance_holder,
)

log = structlog.get_logger("tokenbridge.evm")

DUPLICATE = Reason.DUPLICATION
NO_TOKEN = Reason.NOT_ALLOWED_CURRENCY  # NotAllowedCurrency: no deposit token for this currency on the chain

SEQUENCE_PER_BLOCK = 1_000_000
"""Journal sequence = block * this + log index * 2 + leg: increasing in chain order."""


class EvmLedger(Ledger):
    """The port on one unit of work's connection (see the module doc)."""

    name = "evm"

    def __init__(self, connection: Connection, plugin: EvmLedgerPlugin,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.connection = connection
        self.plugin = plugin
        self.clock = clock
        # This unit's own operations: not on chain yet, but the unit sees its own effects.
        self._planned: list[tuple[str, str | None, str | None, int]] = []
        # Payment references of mints (one payment, one mint), claimed as the mint is planned;
        # an operation that fails on chain gives its claims up (settlement/verdicts.py).
        self._claims = Claims(connection)

    # -- writing -----------------------------------------------------------------------------

    def prepare(self, planned: Sequence[TokenOperation], lookups: Iterable[str] = (),
                references: Iterable[str] = ()) -> None:
        self._claims.read(references)

    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        return self._claims.find(references)

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        tokens = self.plugin.tokens(self.connection)
        if operation.currency not in tokens:  # deployed since we last looked?
            tokens = self.plugin.tokens(self.connection, reload=True)
        if operation.currency not in tokens:
            return LedgerOutcome.rejected(NO_TOKEN, f"no {operation.currency} deposit token is "
                                                    "deployed on this chain (tokenbridge ledger init)")
        unfit = _unfit(operation)  # refused before anything is claimed
        if unfit is not None:
            return unfit
        debit, credit = as_address(operation.debit_wallet), as_address(operation.credit_wallet)
        refs = operation.refs
        row = dict(
            key=operation.key, payment_ref=payment_ref(operation), kind=operation.kind,
            currency=operation.currency, amount=operation.amount,
            debit_wallet=operation.debit_wallet, credit_wallet=operation.credit_wallet,
            fingerprint=operation.fingerprint, message_id=refs.message_id,
            end_to_end_id=refs.end_to_end_id, transaction_id=refs.transaction_id, uetr=refs.uetr,
            instruction_id=refs.instruction_id, account_servicer_ref=refs.account_servicer_ref,
            state=PLANNED, gas_limit=GAS_LIMITS[operation.kind], attempts=0,
            planned_at=utc_naive(self.clock()))
        claimed = self.connection.execute(insert_ignoring_conflict(
            self.connection, evm_operations, row, ["key"]).returning(evm_operations.c.seq)).scalar()
        if claimed is None:
            return self._again(operation)
        held = self._claims.conflict(claim) if claim is not None else None
        if held is not None:  # another road minted this payment: drop the row, as for AM04
            self.connection.execute(evm_operations.delete().where(evm_operations.c.seq == claimed))
            return LedgerOutcome.rejected(DUPLICATE, f"this payment (reference {held.reference}) "
                                                     f"was already minted under {held.operation_key}")
        # Refused: nothing else was written, so the claim is dropped and the key stays free
        # (as on the SQL ledger).
        if debit and not debit_available(self.connection, debit, operation.currency, operation.amount):
            self.connection.execute(evm_operations.delete().where(evm_operations.c.seq == claimed))
            return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} holds "
                                                        "less than the amount")
        if not debit and not take_supply_room(self.connection, operation.currency, operation.amount):
            self.connection.execute(evm_operations.delete().where(evm_operations.c.seq == claimed))
            return LedgerOutcome.rejected(Reason.NOT_ALLOWED_AMOUNT, f"the {operation.currency} supply would "
                                                              f"pass the ledger's maximum ({LEDGER_MAX_UNITS})")
        if credit:
            credit_available(self.connection, credit, operation.currency, operation.amount)
        if claim is not None:
            self._claims.hold(operation.key, claim)
            self._claims.send()  # at once: a claim taken meanwhile fails the unit (retried)
        # The instruction the settlement engine will sign is chained with the unit of work.
        audit.record(self.connection, EVM_OPERATION, operation.key, audit.certified(EVM_OPERATION, row))
        self._planned.append((operation.currency, debit, credit, operation.amount))
        return LedgerOutcome(APPLIED, status=ACSP)

    def apply_together(self, operations: Sequence[TokenOperation]) -> LedgerOutcome:
        """The legs of a payment-versus-payment (debit leg first), planned together: on chain one
        transaction of the settlement contract moves both or reverts (the debit leg carries it,
        the credit leg rides in it: `carrier`). A leg refused here (AM04, ...) rolls the other
        back to a savepoint: nothing planned, nothing moves."""
        settlement = self.plugin.settlement(self.connection)
        if settlement is None:
            return LedgerOutcome.rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                          "no PvP settlement contract on this chain: run tokenbridge "
                                          "ledger init")
        debit_leg, credit_leg = operations
        if any(leg.kind != TRANSFER for leg in operations):  # the contract moves, never burns
            return LedgerOutcome.rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                          "a payment across currencies to a creditor elsewhere (its "
                                          "FX position funds a burn) is not settled on chain yet")
        audit_mark, planned_mark = audit.queued(self.connection), len(self._planned)
        savepoint = self.connection.begin_nested()
        combined = apply_legs(self.apply, operations)
        if combined.rejection is not None:
            savepoint.rollback()
            audit.forget_since(self.connection, audit_mark)
            del self._planned[planned_mark:]
            return combined
        savepoint.commit()
        if combined.result == APPLIED:
            carrier = self.connection.execute(select(evm_operations.c.seq).where(
                evm_operations.c.key == debit_leg.key)).scalar_one()
            self.connection.execute(evm_operations.update().where(evm_operations.c.key == credit_leg.key)
                                    .values(carrier=carrier))
            self.connection.execute(evm_operations.update().where(evm_operations.c.seq == carrier)
                                    .values(gas_limit=PVP_GAS_LIMIT))
        return combined

    def _again(self, operation: TokenOperation) -> LedgerOutcome:
        row = self.connection.execute(select(evm_operations).where(
            evm_operations.c.key == operation.key)).first()
        if row is None or row.fingerprint != operation.fingerprint:
            return LedgerOutcome.rejected(DUPLICATE, f"idempotency key {operation.key} was already "
                                                     "used for a different payment")
        if row.state in (FAILED, CANCELLED):  # answered as the first time: rejected, or cancelled
            return LedgerOutcome.rejected(row.reason, row.info or "rejected on chain")
        return LedgerOutcome(REPLAYED, status=ISO_STATUS[row.state])

    def hold(self, operation: TokenOperation, terms: HoldTerms) -> LedgerOutcome:
        """Hold in the store and on chain (adapters/evm/holds.py): the amount leaves the
        debtor's available balance now; the hold row is signed by the next settlement round.
        A token deployed before holds (see `holds_supported`) cannot hold: refused AG03."""
        tokens = self.plugin.tokens(self.connection)
        token = tokens.get(operation.currency)
        if token is None:
            return LedgerOutcome.rejected(NO_TOKEN, f"no {operation.currency} deposit token is "
                                                    "deployed on this chain (tokenbridge ledger init)")
        if not self.plugin.holds_supported(token.address):
            return LedgerOutcome.rejected(Reason.TRANSACTION_NOT_SUPPORTED,
                                          f"the {operation.currency} token at {token.address} was "
                                          "deployed before holds: it cannot hold tokens")
        on_hold = self.find_hold(operation.key)
        if on_hold is not None:
            return held_rows.as_held(on_hold, operation)
        if self.connection.execute(queries.BY_KEY, {"key": operation.key}).first() is not None:
            return self._again(operation)
        unfit = _unfit(operation)
        if unfit is not None:
            return unfit
        debit = as_address(operation.debit_wallet)
        if debit and not debit_available(self.connection, debit, operation.currency, operation.amount):
            return LedgerOutcome.rejected(INSUFFICIENT, f"wallet {operation.debit_wallet} has less "
                                                        "available than the amount to hold")
        try:
            held_rows.add_hold(self.connection, held_rows.hold_row(operation, terms, self.clock()))
        except IntegrityError as error:  # another unit held this key first: retried
            raise KeyTakenMeanwhile(str(error.orig)) from error
        if debit:  # a mint reserves nothing: held in the store only
            chain_holds.plan(self.connection, operation, kind=HOLD, key=f"{HOLD}:{operation.key}",
                             ref=chain_holds.hold_ref(operation.key),
                             expiry=int(terms.expiry.timestamp()), now=self.clock())
        return LedgerOutcome(APPLIED, status=ACSP)

    def find_hold(self, key: str) -> Hold | None:
        return held_rows.read_holds(self.connection, [key]).get(key)

    def holds(self, state: HoldState | None = None, ends_before: datetime | None = None) -> list[Hold]:
        return held_rows.list_holds(self.connection, state, ends_before)

    def end_hold(self, key: str, ending: HoldEnding, claim: MintClaim | None = None) -> LedgerOutcome | None:
        """Executed: the payment's row is planned (`executeHold`; a held mint: the mint) and
        answered ACSP, its confirmation reports ACSC. Voided: the void row is planned and the
        amount is available again at once."""
        found = held_rows.lock_hold(self.connection, key)
        if found is None or found.state != HoldState.HELD:
            return None
        operation = found.operation
        on_chain = as_address(operation.debit_wallet) is not None
        outcome = LedgerOutcome(APPLIED)
        if ending.state == HoldState.EXECUTED and not on_chain:
            outcome = self.apply(operation, claim)  # a held mint: minted now
            if outcome.rejection is not None:
                ending = HoldEnding(HoldState.VOIDED, outcome.rejection.reason, ending.by, ending.at)
        elif ending.state == HoldState.EXECUTED:
            chain_holds.plan(self.connection, operation, kind=operation.kind, key=key,
                             ref=chain_holds.hold_ref(key), expiry=None, now=self.clock())
            if operation.credit_wallet:
                credit_available(self.connection, as_address(operation.credit_wallet),
                                 operation.currency, operation.amount)
            self._planned.append((operation.currency, as_address(operation.debit_wallet),
                                  as_address(operation.credit_wallet), operation.amount))
            outcome = LedgerOutcome(APPLIED, status=ACSP)
        elif on_chain:
            credit_available(self.connection, as_address(operation.debit_wallet), operation.currency,
                             operation.amount)
            chain_holds.plan_void(self.connection, operation, self.clock())
        if not held_rows.end(self.connection, key, ending):
            raise ChangedMeanwhile(f"hold {key} ended meanwhile")
        return outcome

    def count_wrong_fulfilment(self, key: str) -> None:
        held_rows.count_wrong(self.connection, key)

    def now(self) -> datetime:
        return self.clock()

    def find(self, key: str) -> RecordedOperation | None:
        row = self.connection.execute(select(evm_operations).where(evm_operations.c.key == key)).first()
        if row is None:
            on_hold = self.find_hold(key)
            return None if on_hold is None else held_rows.recorded_hold(on_hold)
        applied = settled_at(row) if row.state == CONFIRMED else as_utc(row.planned_at)
        return RecordedOperation(operation_of(row), row.seq, applied, ISO_STATUS[row.state],
                                 cancelled=row.state == CANCELLED)

    def cancel(self, key: str, requested_by: str) -> CancellationOutcome:
        """Planned (never signed): cancelled now, under the lock a broadcaster takes to sign, so
        it is never broadcast. Submitted, not mined: PENDING; a settlement round signs a no-op
        with its nonce at a higher fee, and reports it cancelled only once the chain has used
        the nonce for that no-op (or settled, if the original won the race). Mined: FINAL."""
        on_hold = self.find_hold(key)
        if on_hold is not None and on_hold.state != HoldState.EXECUTED:
            return super().cancel(key, requested_by)  # held: voided (DS02)
        row = self.connection.execute(queries.BY_KEY, {"key": key}).first()
        partner = pvp_partner(self.connection, row) if row is not None else None
        if partner is not None and row.state == SUBMITTED:
            return CancellationOutcome(FINAL)  # a PvP in flight: both legs settle or fail together
        if row is not None and row.state == PLANNED:
            # The issuer's nonce row, locked as Broadcaster.submit locks it: a round signing now
            # has marked it submitted before we get the lock, or reads it cancelled after.
            self.connection.execute(queries.LOCK_SENDER, {"address": self.plugin.chain.address}).first()
            done = self.connection.execute(queries.CANCEL_PLANNED, {
                "row": row.seq, "requested_by": requested_by, "reason": Reason.ORDER_CANCELLED,
                "info": CANCELLED_INFO, "now": utc_naive(self.clock())})
            if done.rowcount == 1:
                release(self.connection, row)
                if chain_holds.executes_hold(row):  # the hold stays on chain until voided
                    chain_holds.void_after(self.connection, row, self.clock())
                if partner is not None:  # a PvP's other leg, never signed either: cancelled with it
                    self.connection.execute(queries.CANCEL_PLANNED, {
                        "row": partner.seq, "requested_by": requested_by, "reason": Reason.ORDER_CANCELLED,
                        "info": CANCELLED_INFO, "now": utc_naive(self.clock())})
                    release(self.connection, partner)
                return CancellationOutcome(CANCELLED_NOW)
            row = self.connection.execute(queries.BY_KEY, {"key": key}).first()
        if row is None or row.state == FAILED:
            return CancellationOutcome(NEVER_APPLIED)
        if row.state == CANCELLED:
            return CancellationOutcome(CANCELLED_NOW, first=False)
        if row.state == SUBMITTED and row.block_number is None:
            if row.cancel_requested_by is not None:
                return CancellationOutcome(CANCEL_PENDING, first=False)
            asked = self.connection.execute(queries.ASK_CANCEL, {"row": row.seq, "requested_by": requested_by})
            if asked.rowcount == 1:
                return CancellationOutcome(CANCEL_PENDING)
        return CancellationOutcome(FINAL)  # mined (confirmed or waiting for confirmations)

    # -- reading the chain -------------------------------------------------------------------

    def balances(self, as_of: datetime | None = None) -> list[WalletBalance]:
        tokens = self.plugin.tokens(self.connection, verify=True)
        if as_of is not None:
            totals: dict[tuple[str, str], int] = defaultdict(int)
            for p in self._postings(tokens, end=as_of, wallet=None):
                totals[p.holder, p.currency] += p.amount
            return [WalletBalance(w, c, v) for (w, c), v in sorted(totals.items(), key=lambda i: (i[0][1], i[0][0]))]
        latest = self.plugin.chain.latest()
        holders: dict[str, set[str]] = defaultdict(set)
        for currency, settled in self.plugin.history.settled(tokens, latest):
            holders[currency].update(w for w in (settled.from_wallet, settled.to_wallet) if w)
        for currency, debit, credit, _ in self._planned:
            holders[currency].update(w for w in (debit, credit) if w)
        found = {(w, c): int(self.plugin.chain.token_call(tokens[c].address, "balanceOf", w))
                 if c in tokens else 0 for c, wallets in holders.items() for w in wallets}
        for currency, debit, credit, amount in self._planned:
            if debit:
                found[debit, currency] -= amount
            if credit:
                found[credit, currency] += amount
        held = {(w, c): int(self.plugin.chain.token_call(tokens[c].address, "heldBalanceOf", w))
                for (w, c) in found if c in tokens and self.plugin.holds_supported(tokens[c].address)}
        return [WalletBalance(w, c, v, held.get((w, c), 0))
                for (w, c), v in sorted(found.items(), key=lambda i: (i[0][1], i[0][0]))]

    def supply(self, as_of: datetime | None = None) -> dict[str, int]:
        """totalSupply of each token with tokens out (or, as of a time, from the events)."""
        tokens = self.plugin.tokens(self.connection, verify=True)
        if as_of is not None:
            totals: dict[str, int] = {c: 0 for c in tokens}
            for p in self._postings(tokens, end=as_of, wallet=None, issuance=True):
                if p.holder.startswith("issuance:"):
                    totals[p.currency] -= p.amount
            return {c: v for c, v in sorted(totals.items()) if v}
        totals = {c: int(self.plugin.chain.token_call(t.address, "totalSupply")) for c, t in tokens.items()}
        for currency, debit, credit, amount in self._planned:
            totals[currency] += amount if debit is None else -amount if credit is None else 0
        return {c: v for c, v in sorted(totals.items()) if v}  # tokens never issued: not listed

    def journal(self, *, wallet: str | None = None, currency: str | None = None,
                start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        tokens = self.plugin.tokens(self.connection, verify=True)
        if currency is not None:
            tokens = {c: t for c, t in tokens.items() if c == currency}
        if wallet is not None and not wallet.startswith("issuance:"):
            wallet = as_address(wallet) or wallet
        return self._postings(tokens, start=start, end=end, wallet=wallet,
                              issuance=wallet is not None)

    def _postings(self, tokens: dict[str, Token], *, start: datetime | None = None,
                  end: datetime | None = None, wallet: str | None, issuance: bool = False) -> list[Posting]:
        chain = self.plugin.chain
        events = self.plugin.history.settled(tokens, chain.latest())
        rows = self._rows_for([s.payment_ref for _, s in events])
        postings: list[Posting] = []
        for currency, settled in events:
            posted_at = datetime.fromtimestamp(chain.block_time(settled.block_hash), UTC)
            if (start is not None and posted_at < start) or (end is not None and posted_at >= end):
                continue
            row = rows.get(settled.payment_ref)
            key = row.key if row is not None else settled.payment_ref
            refs = operation_of(row).refs if row is not None else PaymentRefs()
            debit = settled.from_wallet or issuance_holder(currency)
            credit = settled.to_wallet or issuance_holder(currency)
            base = settled.block_number * SEQUENCE_PER_BLOCK + settled.log_index * 2
            for leg, (holder, other, amount) in enumerate(((debit, credit, -settled.amount),
                                                           (credit, debit, settled.amount))):
                if wallet is not None and holder != wallet:
                    continue
                if wallet is None and holder.startswith("issuance:") and not issuance:
                    continue
                postings.append(Posting(base + leg, key, settled.kind, holder, other, currency,
                                        amount, posted_at, refs))
        return postings

    def _rows_for(self, refs: list[str]) -> dict:
        found = {}
        for start in range(0, len(refs), 500):
            chunk = refs[start:start + 500]
            found.update({r.payment_ref: r for r in self.connection.execute(
                select(evm_operations).where(evm_operations.c.payment_ref.in_(chunk)))})
        return found


class EvmLedgerPlugin(LedgerPlugin, SettlingLedger, LedgerSetUp, LedgerDescription):
    """Entry point `tokenbridge.ledgers: evm`. Called with the settings; holds the node
    connection, the issuer's account and the caches for the life of the process. Its operation
    rows are in the bridge's SQL store: it is given the SQL store's transactions."""

    name = "evm"

    def __init__(self, settings=None, *, web3=None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        from adapters.config import Settings
        self.settings = settings if settings is not None else Settings()
        self.confirmations = max(1, int(getattr(self.settings, "evm_confirmations", 1) or 1))
        self.max_in_flight = int(getattr(self.settings, "evm_max_in_flight", 500) or 500)
        self.deep_reorg = getattr(self.settings, "evm_deep_reorg", REAPPLY) or REAPPLY
        self.reorg_lookback = int(getattr(self.settings, "evm_reorg_lookback", 0) or LOOKBACK_BLOCKS)
        self.clock = clock
        self._web3 = web3
        self._chain: TokenChain | None = None
        self._history: ChainHistory | None = None
        self._tokens: dict[str, Token] = {}
        self._verified = False
        self._settlers: dict[int, Settler] = {}
        self._settlement: str | None = None
        self._holding: dict[str, bool] = {}  # token address -> whether it enforces holds

    def __repr__(self) -> str:  # never the key
        return f"EvmLedgerPlugin(url={'set' if self.settings.evm_url else None})"

    @property
    def chain(self) -> TokenChain:
        if self._chain is None:
            web3 = self._web3 if self._web3 is not None else connect(
                self.settings.evm_url, getattr(self.settings, "evm_timeout_s", 10) or 10)
            self._chain = TokenChain(web3, load_account(self.settings.evm_key))
        return self._chain

    @property
    def history(self) -> ChainHistory:
        if self._history is None:
            self._history = ChainHistory(self.chain, self.confirmations)
        return self._history

    def ledger_for(self, transaction: StoreTransaction) -> EvmLedger:
        return EvmLedger(sql_connection(transaction), self, self.clock)

    def settler(self, store: TransactionalStore) -> Settler:
        """The settler for a store (one per process and database): the worker calls its
        `settle()`."""
        store = sql_store(store)
        if id(store.engine) not in self._settlers:
            self._settlers[id(store.engine)] = Settler(
                store, self.chain, confirmations=self.confirmations,
                max_in_flight=self.max_in_flight, clock=self.clock,
                reapply_lost=self.deep_reorg == REAPPLY, reorg_lookback=self.reorg_lookback)
        return self._settlers[id(store.engine)]

    def tokens(self, connection: Connection, *, verify: bool = False,
               reload: bool = False) -> dict[str, Token]:
        """The deployed tokens recorded in the store, by currency (cached for the process)."""
        if reload or not self._tokens or verify and not self._verified:
            self._tokens = {r.currency: Token(r.currency, r.address, r.deployed_block, r.chain_id)
                            for r in connection.execute(select(evm_contracts))}
        if verify and not self._verified and self._tokens:
            chain_ids = {t.chain_id for t in self._tokens.values()}
            if chain_ids != {self.chain.chain_id}:
                raise ChainConfigurationError(
                    f"the store's tokens are on chain {sorted(chain_ids)}, the node at "
                    f"TOKENBRIDGE_EVM_URL is chain {self.chain.chain_id}")
            check_tokens(connection, self.chain)  # code and deployment block: not a fresh chain
            self._verified = True
        return self._tokens

    def holds_supported(self, token: str) -> bool:
        """Whether the token at `token` enforces holds (asked of the node once per process)."""
        if token not in self._holding:
            self._holding[token] = self.chain.holds_supported(token)
        return self._holding[token]

    def settlement(self, connection: Connection) -> str | None:
        """The address of the issuer's PvP settlement contract on this chain (None: none)."""
        if self._settlement is None:
            self._settlement = connection.execute(select(evm_settlement.c.address).where(
                evm_settlement.c.chain_id == self.chain.chain_id)).scalar()
        return self._settlement

    # -- ledger init / info ------------------------------------------------------------------

    def initialise(self, store: TransactionalStore) -> dict:
        """`ledger init` on EVM: record the configured contracts, deploy the missing ones.

        Currencies: TOKENBRIDGE_EVM_CURRENCIES, else those of the account registry. Contracts:
        TOKENBRIDGE_EVM_CONTRACTS (`EUR=0x...[@block],JPY=0x...`) are checked and adopted;
        a currency with none, recorded or configured, gets a new contract deployed."""
        from adapters.sql.tables import accounts
        engine = sql_store(store).engine
        chain = self.chain
        configured = parse_contracts(getattr(self.settings, "evm_contracts", None))
        with engine.connect() as connection:
            recorded = {r.currency: r for r in connection.execute(select(evm_contracts))}
            listed = getattr(self.settings, "evm_currencies", None)
            wanted = ([c.strip().upper() for c in listed.split(",") if c.strip()] if listed else
                      sorted(connection.execute(select(accounts.c.currency).distinct()).scalars()))
        for currency, row in recorded.items():
            if row.chain_id != chain.chain_id:
                raise ChainConfigurationError(f"the {currency} token is recorded on chain "
                                              f"{row.chain_id}; the node is chain {chain.chain_id}")
        if recorded:  # a node with a fresh chain: refused, never "fine"
            with engine.begin() as connection:
                check_tokens(connection, chain)
            if currency in configured and configured[currency][0] != row.address:
                raise ChainConfigurationError(
                    f"the store records the {currency} token at {row.address}, "
                    f"TOKENBRIDGE_EVM_CONTRACTS says {configured[currency][0]}")
        deployed, adopted = {}, {}
        for currency in sorted(set(wanted) | set(configured)):
            if currency in recorded:
                continue
            if currency in configured:
                address, block = configured[currency]
                self._check_token(address, currency)
                adopted[currency] = (address, block, None)
            else:
                decimals = minor_units(currency)
                bank = self.settings.issuer_bic or "bank"
                address, block, tx_hash = chain.deploy(f"{bank} {currency} deposit token",
                                                       f"d{currency}", decimals)
                log.info("evm.deployed", currency=currency, address=address, block=block,
                         tx_hash=tx_hash)
                deployed[currency] = (address, block, tx_hash)
        now = utc_naive(self.clock())
        with engine.begin() as connection:
            for currency, (address, block, tx_hash) in {**adopted, **deployed}.items():
                connection.execute(evm_contracts.insert().values(
                    currency=currency, address=address, chain_id=chain.chain_id, deployed_block=block,
                    deployed_block_hash=chain.block_hash(block), deploy_tx=tx_hash,
                    scanned_block=block - 1, recorded_at=now))
            for currency, token in adopted.items():
                self._seed_available(connection, currency, token)
        self._tokens, self._verified = {}, False
        settlement = self._initialise_settlement(engine, sorted(deployed))
        return {"chain_id": chain.chain_id, "issuer": chain.address,
                "contracts": self.contracts(engine), "deployed": sorted(deployed),
                "adopted": sorted(adopted), "settlement": settlement}

    def _initialise_settlement(self, engine: Engine, deployed: list[str]) -> str:
        """Deploy the PvP settlement contract once, and have the tokens deployed now accept it.
        Adopted tokens are asked too; one that cannot (an older token) is logged: a payment
        across its currency would revert on chain (NotIssuer) and be rejected."""
        chain = self.chain
        with engine.connect() as connection:
            address = connection.execute(select(evm_settlement.c.address).where(
                evm_settlement.c.chain_id == chain.chain_id)).scalar()
            tokens = {r.currency: r.address for r in connection.execute(select(evm_contracts))}
        if address is None:
            address, block, tx_hash = chain.deploy_settlement()
            log.info("evm.settlement_deployed", address=address, block=block, tx_hash=tx_hash)
            with engine.begin() as connection:
                connection.execute(evm_settlement.insert().values(
                    chain_id=chain.chain_id, address=address, deployed_block=block, deploy_tx=tx_hash,
                    recorded_at=utc_naive(self.clock())))
        for currency, token in sorted(tokens.items()):
            try:
                if currency in deployed or chain.token_call(token, "settlement") != address:
                    chain.name_settlement(token, address)
            except Exception as error:  # noqa: BLE001 - an older token: no PvP in its currency
                log.warning("evm.settlement_refused", currency=currency, token=token, error=str(error))
        self._settlement = address
        return address

    def _check_token(self, address: str, currency: str) -> None:
        chain = self.chain
        if not chain.code_at(address):
            raise ChainConfigurationError(f"no contract at {address} (the {currency} token)")
        decimals = int(chain.token_call(address, "decimals"))
        if decimals != minor_units(currency):
            raise ChainConfigurationError(f"the {currency} token at {address} has {decimals} "
                                          f"decimals; {currency} has {minor_units(currency)}")
        issuer = chain.token_call(address, "issuer")
        if issuer != chain.address:
            raise ChainConfigurationError(f"the {currency} token at {address} is issued by "
                                          f"{issuer}, not by TOKENBRIDGE_EVM_KEY's {chain.address}")

    def _seed_available(self, connection: Connection, currency: str, adopted) -> None:
        """An adopted token may hold balances already: start available balances from them."""
        address, block, _ = adopted
        totals: dict[str, int] = defaultdict(int)
        for settled in self.chain.settled_logs([address], block, self.chain.latest()):
            # Mints and burns move the issuance account's: minus the supply (see book.py).
            totals[settled.from_wallet or issuance_holder(currency)] -= settled.amount
            totals[settled.to_wallet or issuance_holder(currency)] += settled.amount
        for wallet, amount in totals.items():
            if amount:
                connection.execute(evm_available.insert().values(wallet=wallet, currency=currency,
                                                                 available=amount))

    def contracts(self, engine: Engine) -> dict[str, str]:
        """Currency -> token address: recorded in the store, else as configured."""
        found = {c: a for c, (a, _) in parse_contracts(getattr(self.settings, "evm_contracts", None)).items()}
        try:
            with engine.connect() as connection:
                found.update({r.currency: r.address for r in connection.execute(select(evm_contracts))})
        except Exception:  # noqa: BLE001 - a store not initialised yet has no table
            log.debug("evm.no_contracts_table")
        return dict(sorted(found.items()))

    def describe(self, store: TransactionalStore) -> dict:
        """`ledger info` on EVM: contracts, confirmations; no call to the node."""
        issuer = None
        try:
            issuer = load_account(self.settings.evm_key).address
        except ChainConfigurationError:
            pass
        return {"contracts": self.contracts(sql_store(store).engine), "issuer": issuer,
                "confirmations": self.confirmations}


def _unfit(operation: TokenOperation) -> LedgerOutcome | None:
    """An operation this ledger cannot take whatever the balances: beyond its range (AM02), or
    naming a wallet that is not an EVM address."""
    if operation.amount > LEDGER_MAX_UNITS:
        return LedgerOutcome.rejected(Reason.NOT_ALLOWED_AMOUNT, "the amount is beyond the largest the "
                                                          f"ledger holds ({LEDGER_MAX_UNITS})")
    for given in (operation.debit_wallet, operation.credit_wallet):
        if given and as_address(given) is None:
            return LedgerOutcome.rejected(INVALID_WALLET, f"wallet {given!r} is not an EVM address")
    return None


def parse_contracts(text: str | None) -> dict[str, tuple[str, int]]:
    """`EUR=0xabc...[@block],JPY=0x...` -> {currency: (checksum address, deployed block)}."""
    found: dict[str, tuple[str, int]] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        currency, _, rest = item.partition("=")
        address_text, _, block = rest.strip().partition("@")
        address = as_address(address_text)
        if not currency.strip() or address is None or (block and not block.strip().isdigit()):
            raise ChainConfigurationError(f"TOKENBRIDGE_EVM_CONTRACTS: {item.strip()!r} is not "
                                          "CURRENCY=0xADDRESS[@BLOCK]")
        found[currency.strip().upper()] = (address, int(block) if block else 0)
    return found

