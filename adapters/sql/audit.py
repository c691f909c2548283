"""The audit chain in the store: links appended in the same transaction as the rows they
certify; verified against the rows as they are now."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from adapters.sql.tables import audit_head, audit_links, inbox, operations
from bridge.audit import INBOX, OPERATION, BrokenLink, Link, content_hash, link_hash, verify_chain

INBOX_FIELDS = ("digest", "received_at", "message_type", "message_id", "business_message_id",
                "sender", "verdict", "summary", "raw", "reply_id")
_PENDING = "tokenbridge.audit.pending"

OPERATION_FIELDS = ("key", "kind", "currency", "amount", "debit_wallet", "credit_wallet",
                    "fingerprint", "status", "message_id", "end_to_end_id", "transaction_id",
                    "uetr", "instruction_id", "account_servicer_ref", "applied_at")


def certified(entity: str, row: Any) -> dict[str, Any]:
    """The fields of a row (a mapping or a Row) that the chain certifies."""
    names = INBOX_FIELDS if entity == INBOX else OPERATION_FIELDS
    mapping = row if isinstance(row, dict) else row._mapping
    return {name: mapping[name] for name in names}


def record(connection: Connection, entity: str, reference: str, fields: dict[str, Any]) -> None:
    """Queue a link for a row written in this transaction; `flush` chains the queue at commit."""
    connection.info.setdefault(_PENDING, []).append((entity, reference, content_hash(fields)))


def discard(connection: Connection) -> None:
    """Forget queued links (the transaction rolled back)."""
    connection.info.pop(_PENDING, None)


def flush(connection: Connection) -> None:
    """Chain the queued links just before commit: one lock of the head row, one insert of all
    links, one update of the head, however many rows the unit of work wrote. The head lock
    makes concurrent writers chain one after the other, never forking the chain."""
    queued = connection.info.pop(_PENDING, None)
    if not queued:
        return
    head = connection.execute(select(audit_head.c.hash, audit_head.c.length)
                              .where(audit_head.c.id == 1).with_for_update()).one()
    previous, links = head.hash, []
    for entity, reference, entry in queued:
        current = link_hash(previous, entity, reference, entry)
        links.append(dict(entity=entity, reference=reference, entry_hash=entry,
                          previous_hash=previous, hash=current))
        previous = current
    connection.execute(audit_links.insert(), links)
    connection.execute(update(audit_head).where(audit_head.c.id == 1)
                       .values(hash=previous, length=head.length + len(links)))


def verify(connection: Connection) -> tuple[int, list[BrokenLink]]:
    """(number of links, breaks in chain order)."""
    rows = {
        INBOX: {r.digest: certified(INBOX, r) for r in connection.execute(
            select(inbox).where(inbox.c.verdict != "claimed"))},
        OPERATION: {r.key: certified(OPERATION, r) for r in connection.execute(select(operations))},
    }
    links = [Link(r.seq, r.entity, r.reference, r.entry_hash, r.previous_hash, r.hash)
             for r in connection.execute(select(audit_links).order_by(audit_links.c.seq))]
    head = connection.execute(select(audit_head.c.hash).where(audit_head.c.id == 1)).scalar_one()
    breaks = verify_chain(links, lambda entity, ref: rows.get(entity, {}).get(ref), head,
                          {entity: set(found) for entity, found in rows.items()})
    return len(links), breaks
