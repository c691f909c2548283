"""AccountRegistry.get_many: a batch's accounts read ahead in one query answer `get` exactly as
`get` alone does (found, not found, normalised, `of_wallet` after it), on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import event

from bridge.accounts import BLOCKED, RegisteredAccount

ROWS = [RegisteredAccount("DE89370400440532013000", "EUR", "0xA1"),
        RegisteredAccount("DE02120300000000202051", "EUR", "0xA1"),
        RegisteredAccount("FR7630006000011234567890189", "EUR", "0xB2", status=BLOCKED),
        RegisteredAccount("CUST-7", "USD", "0xC3", scheme="Prtry:BANK", issuer="ISSUER")]
ASKED = ["de89 3704 0044 0532 0130 00", "FR7630006000011234567890189", "NOPE-1", "cust-7",
         "DE02120300000000202051", "NOPE-1"]


def _counting(uow) -> list[str]:
    statements: list[str] = []
    event.listen(uow.accounts.connection, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    return statements


def test_get_after_get_many_answers_as_get_alone_with_one_query(store) -> None:
    with store() as uow:
        uow.accounts.upsert(ROWS)
        uow.commit()
    with store() as uow:
        alone = [uow.accounts.get(a) for a in ASKED]
        wallets_alone = [uow.accounts.of_wallet(w, c) for w, c in (("0xA1", "EUR"), ("0xB2", "EUR"))]
    with store() as uow:
        statements = _counting(uow)
        uow.accounts.get_many(ASKED)
        read_ahead = [uow.accounts.get(a) for a in ASKED]
        assert len(statements) == 1  # every account in one query, none asked again by get
        wallets = [uow.accounts.of_wallet(w, c) for w, c in (("0xA1", "EUR"), ("0xB2", "EUR"))]
    assert read_ahead == alone
    assert [a.account if a else None for a in read_ahead] == [
        "DE89370400440532013000", "FR7630006000011234567890189", None, "CUST-7",
        "DE02120300000000202051", None]
    assert wallets == wallets_alone


def test_get_many_reads_only_what_is_not_known_and_an_upsert_forgets_it(store) -> None:
    with store() as uow:
        uow.accounts.upsert(ROWS[:1])
        uow.commit()
    with store() as uow:
        uow.accounts.get(ASKED[0])
        statements = _counting(uow)
        uow.accounts.get_many([ASKED[0]])
        assert statements == []  # known already
        uow.accounts.get_many(["NOPE-2"])
        uow.accounts.upsert([RegisteredAccount("NOPE-2", "EUR", "0xD4")])
        assert uow.accounts.get("NOPE-2") == RegisteredAccount("NOPE-2", "EUR", "0xD4")
