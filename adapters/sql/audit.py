"""The audit chain in the store: links appended in the same transaction as the rows they
certify; verified against the rows as they are now."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from adapters.sql.tables import audit_head, audit_links, inbox, operations
from bridge.audit import INBOX, OPERATION, BrokenLink, Link, content_hash, link_hash, verify_chain

INBOX_FIELDS = ("digest", "received_at", "message_type", "message_id", "business_message_id",
                "sender", "verdict", "summary", "raw", "reply_id")
OPERATION_FIELDS = ("key", "kind", "currency", "amount", "debit_wallet", "credit_wallet",
                    "fingerprint", "status", "message_id", "end_to_end_id", "transaction_id",
                    "uetr", "instruction_id", "account_servicer_ref", "applied_at")


def certified(entity: str, row: Any) -> dict[str, Any]:
    """The fields of a row (a mapping or a Row) that the chain certifies."""
    names = INBOX_FIELDS if entity == INBOX else OPERATION_FIELDS
    mapping = row if isinstance(row, dict) else row._mapping
    return {name: mapping[name] for name in names}


def append(connection: Connection, entity: str, reference: str, fields: dict[str, Any]) -> None:
    """Add a link for a row written in this transaction. The head row is locked first, so
    concurrent writers chain one after the other and never fork the chain."""
    head = connection.execute(select(audit_head.c.hash, audit_head.c.length)
                              .where(audit_head.c.id == 1).with_for_update()).one()
    entry = content_hash(fields)
    new_hash = link_hash(head.hash, entity, reference, entry)
    connection.execute(audit_links.insert().values(
        entity=entity, reference=reference, entry_hash=entry, previous_hash=head.hash,
        hash=new_hash))
    connection.execute(update(audit_head).where(audit_head.c.id == 1)
                       .values(hash=new_hash, length=head.length + 1))


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
