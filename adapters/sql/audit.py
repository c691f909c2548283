"""The audit chain in the store: links appended in the same transaction as the rows they
certify; verified against the rows as they are now, and the money recomputed from the postings.

Chained: each inbox record, each ledger operation (`operations`) and, as a link of its own, the
set of that operation's postings; on the EVM ledger, each operation's instruction as planned
(`evm_operations`: what was asked of the chain, not its settlement state; the chain holds the
balances); each payment return (`return_entries`, who asked included); each operator action taken through the API (`operator_actions`). Not chained but recomputed: the `balances` rows and each currency's supply."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from adapters.evm.tables import evm_operations
from adapters.sql import bulk
from adapters.sql.tables import (audit_head, audit_links, balances, inbox, operations,
                                 operator_actions, postings, return_entries, supply)
from bridge.audit import (ACTION, EVM_OPERATION, INBOX, OPERATION, POSTINGS, RETURN, BrokenLink, LedgerOperation,
                          Leg, Link, check_money, content_hash, link_hash, posting_content,
                          postings_digest, verify_chain)

INBOX_FIELDS = ("digest", "received_at", "message_type", "message_id", "business_message_id",
                "sender", "verdict", "summary", "raw", "reply_id")
_PENDING = "tokenbridge.audit.pending"

OPERATION_FIELDS = ("key", "kind", "currency", "amount", "debit_wallet", "credit_wallet",
                    "fingerprint", "status", "message_id", "end_to_end_id", "transaction_id",
                    "uetr", "instruction_id", "account_servicer_ref", "applied_at")

# The instruction an EVM operation carries to the chain; its state, nonce, transaction and
# attempts are the settlement engine's working fields (the chain's Settled events decide them).
EVM_OPERATION_FIELDS = ("key", "payment_ref", "kind", "currency", "amount", "debit_wallet",
                        "credit_wallet", "fingerprint", "message_id", "end_to_end_id",
                        "transaction_id", "uetr", "instruction_id", "account_servicer_ref",
                        "planned_at")

# Each return as recorded: which original, how much, why, and who asked (the operator's action
# included: `tokenbridge return` records its return here).
RETURN_FIELDS = ("return_key", "original_key", "currency", "amount", "reason", "origin",
                 "message_id", "return_id", "returned_at")

# What an operator did through the API, and with which token (adapters.sql.operator_actions).
ACTION_FIELDS = ("acted_at", "token_name", "action", "target", "outcome", "detail")

_FIELDS = {INBOX: INBOX_FIELDS, OPERATION: OPERATION_FIELDS, EVM_OPERATION: EVM_OPERATION_FIELDS,
           RETURN: RETURN_FIELDS, ACTION: ACTION_FIELDS}


def certified(entity: str, row: Any) -> dict[str, Any]:
    """The fields of a row (a mapping or a Row) that the chain certifies."""
    mapping = row if isinstance(row, dict) else row._mapping
    return {name: mapping[name] for name in _FIELDS[entity]}


def record(connection: Connection, entity: str, reference: str, fields: dict[str, Any]) -> None:
    """Queue a link for a row written in this transaction; `flush` chains the queue at commit."""
    record_digest(connection, entity, reference, content_hash(fields))


def record_digest(connection: Connection, entity: str, reference: str, entry: str) -> None:
    connection.info.setdefault(_PENDING, []).append((entity, reference, entry))


def record_operation(connection: Connection, row: dict[str, Any], legs: Iterable[dict[str, Any]]) -> None:
    """Queue the links of a ledger operation written in this transaction: its row, and its
    postings (dicts with holder, counterparty, currency, amount, posted_at)."""
    record(connection, OPERATION, row["key"], certified(OPERATION, row))
    record_digest(connection, POSTINGS, row["key"], postings_digest(
        posting_content(leg["holder"], leg["counterparty"], leg["currency"], leg["amount"],
                        leg["posted_at"]) for leg in legs))


def queued(connection: Connection) -> int:
    """How many links this transaction has queued (a mark to `forget_since`)."""
    return len(connection.info.get(_PENDING, ()))


def forget_since(connection: Connection, mark: int) -> None:
    """Forget the links queued after `mark` (their rows were rolled back to a savepoint)."""
    del connection.info.get(_PENDING, [])[mark:]


def discard(connection: Connection) -> None:
    """Forget queued links (the transaction rolled back)."""
    connection.info.pop(_PENDING, None)


_LOCK_HEAD = (select(audit_head.c.hash, audit_head.c.length).where(audit_head.c.id == 1)
              .with_for_update())
_ADD_LINKS = audit_links.insert()
_MOVE_HEAD = (update(audit_head).where(audit_head.c.id == 1)
              .values(hash=bindparam("h"), length=bindparam("n")))


def flush(connection: Connection) -> None:
    """Chain the queued links just before commit: one lock of the head row, one insert of all
    links, one update of the head, however many rows the unit of work wrote. The head lock
    makes concurrent writers chain one after the other, never forking the chain."""
    queued = connection.info.pop(_PENDING, None)
    if not queued:
        return
    head = connection.execute(_LOCK_HEAD).one()
    previous, links = head.hash, []
    for entity, reference, entry in queued:
        current = link_hash(previous, entity, reference, entry)
        links.append(dict(entity=entity, reference=reference, entry_hash=entry,
                          previous_hash=previous, hash=current))
        previous = current
    bulk.execute_many(connection, _ADD_LINKS, links)
    connection.execute(_MOVE_HEAD, {"h": previous, "n": head.length + len(links)})


def stored_postings(connection: Connection) -> dict[int, list[Leg]]:
    """Every posting, by its operation's sequence."""
    found: dict[int, list[Leg]] = defaultdict(list)
    for r in connection.execute(select(postings).order_by(postings.c.id)):
        found[r.operation_seq].append(_leg(r._mapping, r.id))
    return found


def verify(connection: Connection) -> tuple[int, list[BrokenLink]]:
    """(number of links, findings: the chain's in chain order, then the money's). Everything is
    read in one snapshot (PostgreSQL: REPEATABLE READ; SQLite: the one transaction), so writers
    committing meanwhile cannot look like tampering."""
    if connection.dialect.name == "postgresql" and not connection.in_transaction():
        connection.execution_options(isolation_level="REPEATABLE READ")
    operation_rows = connection.execute(select(operations)).all()
    legs = stored_postings(connection)
    rows = {
        INBOX: {r.digest: certified(INBOX, r) for r in connection.execute(
            select(inbox).where(inbox.c.verdict != "claimed"))},
        OPERATION: {r.key: certified(OPERATION, r) for r in operation_rows},
        POSTINGS: {r.key: postings_digest(leg.content() for leg in legs.get(r.seq, ()))
                   for r in operation_rows},
        EVM_OPERATION: {r.key: certified(EVM_OPERATION, r)
                        for r in connection.execute(select(evm_operations))},
        RETURN: {r.return_key: certified(RETURN, r) for r in connection.execute(select(return_entries))},
        ACTION: {str(r.seq): certified(ACTION, r) for r in connection.execute(select(operator_actions))},
    }
    links = [Link(r.seq, r.entity, r.reference, r.entry_hash, r.previous_hash, r.hash)
             for r in connection.execute(select(audit_links).order_by(audit_links.c.seq))]
    head = connection.execute(select(audit_head.c.hash).where(audit_head.c.id == 1)).scalar_one()
    breaks = verify_chain(links, lambda entity, ref: rows.get(entity, {}).get(ref), head,
                          {entity: set(found) for entity, found in rows.items()})
    held = {(r.wallet, r.currency): r.balance for r in connection.execute(select(balances))}
    ledger = {r.seq: LedgerOperation(r.key, r.currency, r.amount, r.debit_wallet, r.credit_wallet,
                                     r.applied_at) for r in operation_rows}
    kept = {r.currency: r.supply for r in connection.execute(select(supply))}
    return len(links), breaks + check_money(ledger, legs, held, kept)


def _leg(posting: Any, id: int | None = None) -> Leg:
    return Leg(posting["holder"], posting["counterparty"], posting["currency"], posting["amount"],
               posting["posted_at"], id)
