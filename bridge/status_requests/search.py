"""Payment search for the operations console: by UETR, EndToEndId or MsgId (the payment's own
references, through `lifecycle`), or by an account of the registry or a wallet (the ledger
operations that moved its tokens, newest first). Each match names the reference its timeline
is opened with."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.accounts import OMNIBUS
from bridge.iso.reader import MessageReader
from bridge.ports import Posting, UnitOfWork
from bridge.reconciliation.report import money
from bridge.status_requests.lifecycle import MessageLifecycle, lifecycle

MAX_MATCHES = 200
"""Matches shown for an account or a wallet (the newest); its statement has them all."""
ISSUANCE_PREFIX = "issuance:"


class FoundBy(StrEnum):
    REFERENCE = "reference"  # UETR, EndToEndId or MsgId
    ACCOUNT = "account"  # an account of the registry (its wallet; an omnibus: mints and burns)
    WALLET = "wallet"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class PaymentMatch:
    ref: str  # what its timeline is opened with: the UETR, else the EndToEndId, else the MsgId
    message_id: str | None
    message_type: str | None
    uetr: str | None
    end_to_end_id: str | None
    kind: str | None  # mint, transfer, burn (None: no operation)
    amount: str | None  # major units, as written
    currency: str | None
    debit_wallet: str | None
    credit_wallet: str | None
    at: datetime
    status: str | None  # the transaction's current status or the message's verdict (None: see its timeline)


def find_payments(query: str, uow: UnitOfWork, reader: MessageReader) -> tuple[FoundBy, list[PaymentMatch]]:
    """The payments `query` names, and how it named them."""
    query = query.strip()
    if not query:
        return FoundBy.NOTHING, []
    messages = lifecycle(query, uow, reader)
    if messages:
        return FoundBy.REFERENCE, [m for message in messages for m in _reference_matches(message)]
    registered = uow.accounts.get(query)
    if registered is not None:
        if registered.kind == OMNIBUS:  # fiat in and out: the currency's mints and burns
            postings = [p for p in uow.ledger.journal(currency=registered.currency)
                        if p.counterparty.startswith(ISSUANCE_PREFIX)]
        else:
            postings = uow.ledger.journal(wallet=registered.wallet) if registered.wallet else []
        return FoundBy.ACCOUNT, _posting_matches(postings)
    postings = uow.ledger.journal(wallet=query)
    return (FoundBy.WALLET, _posting_matches(postings)) if postings else (FoundBy.NOTHING, [])


def _reference_matches(message: MessageLifecycle) -> list[PaymentMatch]:
    if not message.transactions:  # a message without payments of its own (a statement, ...)
        return [PaymentMatch(message.message_id or "", message.message_id, message.message_type,
                             None, None, None, None, None, None, None, message.received_at,
                             message.verdict)]
    found = []
    for t in message.transactions:
        op = t.operation.operation if t.operation else None
        found.append(PaymentMatch(
            t.uetr or t.end_to_end_id or message.message_id or "", message.message_id,
            message.message_type, t.uetr, t.end_to_end_id, op.kind if op else None, t.amount,
            t.currency, op.debit_wallet if op else None, op.credit_wallet if op else None,
            t.operation.applied_at if t.operation else message.received_at, str(t.current.status)))
    return found


def _posting_matches(postings: list[Posting]) -> list[PaymentMatch]:
    """One match per operation (a wallet's postings of a transfer to itself would be two)."""
    seen: dict[str, PaymentMatch] = {}
    for p in sorted(postings, key=lambda p: p.sequence, reverse=True):
        if p.operation_key in seen:
            continue
        credited = p.amount > 0
        holder = None if p.holder.startswith(ISSUANCE_PREFIX) else p.holder
        other = None if p.counterparty.startswith(ISSUANCE_PREFIX) else p.counterparty
        refs = p.refs
        seen[p.operation_key] = PaymentMatch(
            refs.uetr or refs.end_to_end_id or refs.message_id or p.operation_key, refs.message_id,
            None, refs.uetr, refs.end_to_end_id, p.kind, money(abs(p.amount), p.currency), p.currency,
            other if credited else holder, holder if credited else other, p.posted_at, None)
        if len(seen) >= MAX_MATCHES:
            break
    return list(seen.values())
