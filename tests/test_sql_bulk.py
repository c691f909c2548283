"""adapters.sql.bulk: the hot path's multi-row writes, sent to the driver with SQL compiled once,
store exactly what SQLAlchemy's own execution of the same statements stores (same texts, times,
bytes, integers), return what its RETURNING returns, and fail with SQLAlchemy's errors."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from adapters.sql import bulk, statements
from adapters.sql.claims import _claim
from adapters.sql.tables import audit_links, inbox, operations, outbox, payment_refs, postings

WHEN = datetime(2026, 3, 1, 9, 30)  # microsecond 0: SQLite's text form still carries .000000
LATER = datetime(2026, 3, 1, 9, 30, 1, 250)


def _operation(key: str, applied_at: datetime) -> dict:
    return dict(key=key, kind="mint", currency="EUR", amount=2**40 + 7, debit_wallet=None,
                credit_wallet="0xW", fingerprint="f" * 64, status="ACSC", message_id="M",
                end_to_end_id="E2E", transaction_id=None, uetr="u" * 36, instruction_id=None,
                account_servicer_ref=None, applied_at=applied_at)


def _outbox(message_id: str, created_at: datetime) -> dict:
    return dict(message_id=message_id, correlation_id=None, message_type="pacs.002.001.10",
                content_type="application/xml", body=b"<Document>\x00\xff</Document>",
                created_at=created_at)


def _stored(connection, table, order) -> list[tuple]:
    """The rows as stored, each value as the database holds it (SQLite: its own types), but
    their serial numbers (PostgreSQL's sequences move on across rolled-back transactions)."""
    columns = ", ".join(f'"{c.name}"' for c in table.c if c.name not in ("seq", "id", "operation_seq"))
    return [tuple(r) for r in connection.execute(text(f'SELECT {columns} FROM {table.name} ORDER BY "{order}"'))]


def _both_ways(store, write) -> tuple[list, list]:
    """What `write(connection, bulk_or_not)` stores through SQLAlchemy, then through bulk, each
    on a fresh transaction that is rolled back."""
    found = []
    for use_bulk in (False, True):
        with store.engine.connect() as connection:
            with connection.begin() as transaction:
                found.append(write(connection, use_bulk))
                transaction.rollback()
    return found[0], found[1]


def test_multi_row_writes_store_what_sqlalchemy_stores(store) -> None:
    def write(connection, use_bulk):
        run = (lambda st, rows: bulk.execute_many(connection, st, rows)) if use_bulk else connection.execute
        ops = [_operation("k1", WHEN), _operation("k2", LATER)]
        seqs = dict(bulk.insert_returning(connection, statements.ADD_OPERATIONS, ops) if use_bulk
                    else connection.execute(statements.ADD_OPERATIONS, ops).all())
        run(statements.ADD_POSTINGS, [
            dict(operation_seq=seqs[k], currency="EUR", posted_at=t, holder=h, counterparty=c, amount=a)
            for k, t in (("k1", WHEN), ("k2", LATER))
            for h, c, a in (("issuance:EUR", "0xW", -(2**40 + 7)), ("0xW", "issuance:EUR", 2**40 + 7))])
        run(statements.ADD_OUTBOX, [_outbox("R1", WHEN), _outbox("R2", LATER)])
        run(audit_links.insert(), [dict(entity="inbox", reference="d1", entry_hash="e" * 64,
                                        previous_hash="0" * 64, hash="h" * 64)])
        connection.execute(statements.claim_inbox(connection.dialect.name),
                           [dict(digest=d, received_at=WHEN, verdict="claimed", summary="", raw=b"")
                            for d in ("d1", "d2")])
        run(statements.RECORD_INBOX, [
            dict(d=d, received_at=t, message_type="pacs.008.001.08", message_id="M", sender=None,
                 business_message_id=None, verdict="accepted", summary="ok", raw=b"<x/>\x00",
                 reply_id="R1") for d, t in (("d1", LATER), ("d2", WHEN))])
        return [_stored(connection, table, order) for table, order in
                ((operations, "seq"), (postings, "id"), (outbox, "seq"), (audit_links, "seq"),
                 (inbox, "digest"))] + [connection.execute(text(
            "SELECT o.key, p.holder FROM postings p JOIN operations o ON o.seq = p.operation_seq "
            "ORDER BY p.id")).all()]

    through_sqlalchemy, through_bulk = _both_ways(store, write)
    assert through_bulk == through_sqlalchemy
    assert through_bulk[0] and through_bulk[1] and through_bulk[4][0][-1] == "R1"


def test_insert_returning_returns_what_was_inserted_and_skips_conflicts(store) -> None:
    def write(connection, use_bulk):
        claim = _claim(connection.dialect.name)
        first = [dict(reference=f"r{i}", operation_key=f"k{i}", road="payment") for i in range(5)]
        again = [dict(reference=f"r{i}", operation_key="other", road="statement") for i in range(3, 8)]
        if use_bulk:
            taken = [{r for r, in bulk.insert_returning(connection, claim, rows)} for rows in (first, again)]
        else:
            taken = [set(connection.execute(claim, rows).scalars().all()) for rows in (first, again)]
        return taken, _stored(connection, payment_refs, "reference")

    through_sqlalchemy, through_bulk = _both_ways(store, write)
    assert through_bulk == through_sqlalchemy
    assert through_bulk[0] == [{f"r{i}" for i in range(5)}, {"r5", "r6", "r7"}]


def test_insert_returning_pages_many_rows(store, monkeypatch) -> None:
    monkeypatch.setattr(bulk, "PAGE_ROWS", 7)
    with store.engine.connect() as connection, connection.begin():
        ops = [_operation(f"k{i:03}", WHEN) for i in range(30)]
        seqs = dict(bulk.insert_returning(connection, statements.ADD_OPERATIONS, ops))
        stored = dict(connection.execute(select(operations.c.key, operations.c.seq)).all())
        assert seqs == stored and len(seqs) == 30


def test_a_unique_violation_is_sqlalchemys_integrity_error(store) -> None:
    with store.engine.connect() as connection, connection.begin():
        bulk.execute_many(connection, statements.ADD_OUTBOX, [_outbox("R1", WHEN)])
        with pytest.raises(IntegrityError):
            bulk.execute_many(connection, statements.ADD_OUTBOX, [_outbox("R1", LATER)])
    with store.engine.connect() as connection, connection.begin():
        bulk.insert_returning(connection, statements.ADD_OPERATIONS, [_operation("k", WHEN)])
        with pytest.raises(IntegrityError):
            bulk.insert_returning(connection, statements.ADD_OPERATIONS, [_operation("k", LATER)])
