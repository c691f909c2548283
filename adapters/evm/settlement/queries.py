"""The settler's statements on the store's EVM tables, built once with named bind parameters
(as adapters.sql.statements: compiled once, then only executed).

A statement that changes an operation's state names the state it expects in its WHERE clause,
so two settlers racing on one row change it once (rowcount 1 for the winner).
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import and_, bindparam, func, or_, select, update

from adapters.evm.tables import (
    CANCELLED,
    CONFIRMED,
    FAILED,
    PLANNED,
    SUBMITTED,
    VOID,
    evm_contracts,
    evm_operations,
    evm_senders,
    evm_settlement,
)
from adapters.sql.tables import payment_refs

_op = evm_operations.c
_UNMINED = and_(_op.state == SUBMITTED, _op.block_number.is_(None))
_NOT_CANCELLING = _op.cancel_requested_by.is_(None)

# -- counting ----------------------------------------------------------------------------------

COUNT_UNFINAL = select(func.count()).select_from(evm_operations).where(
    _op.state.in_((PLANNED, SUBMITTED)))
COUNT_PLANNED = select(func.count()).select_from(evm_operations).where(_op.state == PLANNED)
COUNT_IN_FLIGHT = select(func.count()).select_from(evm_operations).where(_UNMINED)

# -- reading operations ------------------------------------------------------------------------

PLANNED_FIRST = (select(evm_operations).where(and_(_op.state == PLANNED, _op.carrier.is_(None)))
                 .order_by(_op.seq).limit(bindparam("room")))
"""The oldest :room planned operations (a PvP credit leg goes with its carrier, not alone)."""

CARRIED_BY = select(evm_operations).where(_op.carrier.in_(bindparam("seqs", expanding=True)))
"""The PvP credit legs that ride in the transactions of the operations :seqs."""

BY_SEQ = select(evm_operations).where(_op.seq == bindparam("seq"))

SETTLEMENT_ADDRESS = select(evm_settlement.c.address).where(evm_settlement.c.chain_id == bindparam("chain_id"))

SUBMITTED_AS = select(evm_operations).where(and_(_op.tx_hash == bindparam("tx_hash"),
                                                 _op.state == SUBMITTED)).order_by(_op.seq)
"""The operations still submitted as transaction :tx_hash (none once decided or re-signed): one,
or the two legs of a PvP, its carrier first."""

UNMINED_BY_NONCE = select(evm_operations).where(and_(_UNMINED, _NOT_CANCELLING)).order_by(_op.nonce)
"""Unmined transactions of operations nobody asked to cancel (cancelling.py follows those)."""

BY_PAYMENT_REFS = select(evm_operations).where(
    _op.payment_ref.in_(bindparam("refs", expanding=True)))

VOIDS_OF = select(evm_operations).where(and_(
    _op.hold_ref.in_(bindparam("refs", expanding=True)), _op.kind == VOID))
"""The rows voiding the holds :refs (a HoldVoided event names the hold, not the row)."""

MINED_BY = (select(evm_operations).where(and_(
    _op.state == SUBMITTED, _op.block_number.is_not(None), _op.block_number <= bindparam("deep")))
    .order_by(_op.block_number))
"""Submitted operations whose event is in block :deep or an older one."""

FUNDED_BY_EARLIER = select(_op.seq).where(and_(
    _op.seq < bindparam("row"), _op.currency == bindparam("currency"),
    or_(_op.state.in_((PLANNED, SUBMITTED)), and_(bindparam("lost_too"), _op.lost_at.is_not(None))),
    func.lower(_op.credit_wallet) == func.lower(bindparam("wallet")))).limit(1)
"""An earlier operation, not final yet (or, with :lost_too, confirmed then lost in a deep reorg
and being re-applied), that credits :wallet: what operation :row counted on."""

NONCES_FROM = select(_op.nonce).where(_op.nonce >= bindparam("lowest"))
"""Nonces the store holds for operations, from :lowest up."""

WAITING_NONCES_FROM = select(_op.nonce).where(and_(
    _op.nonce >= bindparam("lowest"), or_(_op.state == SUBMITTED, _op.lost_at.is_not(None))))
"""Nonces, from :lowest up, of transactions still to be mined (submitted, or confirmed then lost
in a reorg): any other unused nonce below them is a gap (a reorg gave it back, ...)."""

RECENTLY_CONFIRMED = (select(evm_operations).where(and_(
    _op.state == CONFIRMED, or_(_op.block_number > bindparam("since"), _op.lost_at.is_not(None))))
    .order_by(_op.nonce))
"""Confirmed operations mined after block :since, and those found lost (reorg.py)."""

HIGHEST_WAITING_NONCE = select(func.max(_op.nonce)).where(and_(
    or_(_UNMINED, _op.lost_at.is_not(None)), _op.nonce >= bindparam("lowest")))

# -- changing operations -----------------------------------------------------------------------

MARK_SUBMITTED = update(evm_operations).where(and_(
    _op.seq == bindparam("row"), _op.state == PLANNED)).values(
    state=SUBMITTED, nonce=bindparam("nonce"), tx_hash=bindparam("tx_hash"),
    raw_tx=bindparam("raw_tx"), attempts=bindparam("attempts"), submitted_at=bindparam("now"),
    block_number=None, block_hash=None)

RESIGNED = update(evm_operations).where(_op.seq == bindparam("row")).values(
    tx_hash=bindparam("tx_hash"), raw_tx=bindparam("raw_tx"), gas_limit=bindparam("gas_limit"))

MARK_MINED = update(evm_operations).where(_op.seq == bindparam("row")).values(
    state=SUBMITTED, block_number=bindparam("block_number"), block_hash=bindparam("block_hash"),
    tx_hash=bindparam("tx_hash"))
"""Its Settled event was read in block :block_number."""

REPLANNED = update(evm_operations).where(and_(_op.seq == bindparam("row"), _NOT_CANCELLING)).values(
    state=PLANNED, nonce=None, tx_hash=None, raw_tx=None, gas_limit=bindparam("gas_limit"))

UNMINED = update(evm_operations).where(_op.seq == bindparam("row")).values(
    block_number=None, block_hash=None)
"""Its block left the canonical chain (a reorg): found mined again by a later scan."""

FOUND_AGAIN = update(evm_operations).where(_op.seq == bindparam("row")).values(
    block_number=bindparam("block_number"), block_hash=bindparam("block_hash"),
    tx_hash=bindparam("tx_hash"), lost_at=None)
"""A confirmed operation's event, found in another canonical block (after a reorg)."""

MARK_LOST = update(evm_operations).where(and_(_op.seq == bindparam("row"), _op.lost_at.is_(None))).values(
    lost_at=bindparam("now"))

SIGNED_AGAIN = update(evm_operations).where(_op.seq == bindparam("row")).values(
    nonce=bindparam("nonce"), tx_hash=bindparam("tx_hash"), raw_tx=bindparam("raw_tx"),
    attempts=bindparam("attempts"))
"""A lost confirmed operation, re-applied with a fresh nonce."""

COUNT_LOST = select(func.count()).select_from(evm_operations).where(_op.lost_at.is_not(None))

CONFIRM = update(evm_operations).where(and_(_op.seq == bindparam("row"), _op.state == SUBMITTED)).values(
    state=CONFIRMED, settled_at=bindparam("settled_at"))


@cache
def adopted(release_nonce: bool):
    """An earlier attempt of the operation settled as transaction :tx_hash in :block_number;
    with `release_nonce`, the nonce of the attempt just refused is free again."""
    values = dict(block_number=bindparam("block_number"), block_hash=bindparam("block_hash"),
                  tx_hash=bindparam("tx_hash"))
    return update(evm_operations).where(_op.seq == bindparam("row")).values(
        **values, **({"nonce": None} if release_nonce else {}))


@cache
def failed(release_nonce: bool):
    """The operation failed (:reason, :info) unless already final; rowcount 1 when it did now."""
    return update(evm_operations).where(and_(
        _op.seq == bindparam("row"), _op.state.in_((PLANNED, SUBMITTED)))).values(
        state=FAILED, reason=bindparam("reason"), info=bindparam("info"),
        settled_at=bindparam("settled_at"), **({"nonce": None} if release_nonce else {}))


# -- cancellations on request (cancelling.py) ---------------------------------------------------

BY_KEY = select(evm_operations).where(_op.key == bindparam("key"))

CANCEL_PLANNED = update(evm_operations).where(and_(_op.seq == bindparam("row"), _op.state == PLANNED)).values(
    state=CANCELLED, cancel_requested_by=bindparam("requested_by"), reason=bindparam("reason"),
    info=bindparam("info"), settled_at=bindparam("now"))
"""Never signed: cancelled at once (rowcount 0: a broadcaster took it first)."""

ASK_CANCEL = update(evm_operations).where(and_(
    _UNMINED, _op.seq == bindparam("row"), _NOT_CANCELLING)).values(
    cancel_requested_by=bindparam("requested_by"))
"""Submitted, not mined: a settlement round replaces its nonce with a no-op."""

TO_REPLACE = select(evm_operations).where(and_(
    _UNMINED, _op.cancel_requested_by.is_not(None), _op.cancel_tx_hash.is_(None)))

REPLACED = update(evm_operations).where(and_(
    _op.seq == bindparam("row"), _op.cancel_tx_hash.is_(None))).values(
    cancel_tx_hash=bindparam("noop_hash"), cancel_raw_tx=bindparam("noop_raw"))

CANCELLING = (select(evm_operations).where(and_(_UNMINED, _op.cancel_tx_hash.is_not(None)))
              .order_by(_op.nonce))
"""Replaced, waiting for the chain to use the nonce (the no-op or, in a race, the original)."""

CANCEL_SUBMITTED = update(evm_operations).where(and_(_UNMINED, _op.seq == bindparam("row"))).values(
    state=CANCELLED, reason=bindparam("reason"), info=bindparam("info"), settled_at=bindparam("now"))
"""Its nonce was used without it: cancelled (rowcount 0: decided already, or found mined)."""

FREE_PAYMENT_REFS = payment_refs.delete().where(payment_refs.c.operation_key == bindparam("key"))
"""Nothing was minted: the payment's references are free for another road to mint."""

# -- tokens ------------------------------------------------------------------------------------

TOKENS = select(evm_contracts)
TOKEN_ADDRESSES = select(evm_contracts.c.currency, evm_contracts.c.address)
TOKEN_ADDRESS = select(evm_contracts.c.address).where(evm_contracts.c.currency == bindparam("currency"))
SCANNED_TO = update(evm_contracts).values(scanned_block=bindparam("block"))
RESCAN_FROM = update(evm_contracts).where(evm_contracts.c.scanned_block >= bindparam("block")).values(
    scanned_block=bindparam("before"))
"""Read the events of :block (:before is the one before it) and later again: a reorg replaced it."""

# -- the issuer's nonces -----------------------------------------------------------------------

LOCK_SENDER = select(evm_senders).where(evm_senders.c.address == bindparam("address")).with_for_update()
ADD_SENDER = evm_senders.insert().values(address=bindparam("address"), chain_id=bindparam("chain_id"),
                                         next_nonce=bindparam("next_nonce"))


@cache
def raise_next_nonce(dialect: str):
    """The next nonce of issuer :sender becomes at least :top (never lowered: another settler may have
    handed out more meanwhile)."""
    highest = func.max if dialect == "sqlite" else func.greatest
    return update(evm_senders).where(evm_senders.c.address == bindparam("sender")).values(
        next_nonce=highest(evm_senders.c.next_nonce, bindparam("top")))
