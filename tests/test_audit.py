"""The audit trail: untouched it verifies; any edit, deletion or insertion is named."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from adapters.cli import cli
from adapters.sql import audit
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from builders import Tx, pacs008

ALICE, BRUNO, FATIMA = "DE82500199000417283905", "DE17500199000602517730", "FR7630004008280001058392658"


@pytest.fixture()
def busy(registry):
    run = MessageBus(MessageReader(), registry, is_transient=registry.is_transient)
    for body in [pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]),
                 pacs008([Tx(amount="2.00", debtor_iban=ALICE, creditor_iban=BRUNO)]),
                 pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban="GB52BARC20325373491826")]),
                 "<not-iso/>"]:
        run.handle(body.encode())
    return registry


def check(store) -> tuple[int, list]:
    with store.engine.connect() as connection:
        return audit.verify(connection)


def tamper(store, sql: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql))


def test_untouched_trail_verifies(busy) -> None:
    length, breaks = check(busy)
    assert breaks == [] and length == 4 + 2 + 2  # four inbox records, two operations and their postings


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE operations SET amount = amount * 100 WHERE kind = 'mint'", "was changed"),
    ("UPDATE inbox SET verdict = 'accepted' WHERE verdict = 'rejected'", "was changed"),
    ("UPDATE inbox SET summary = 'nothing to see' WHERE verdict = 'refused'", "was changed"),
    ("DELETE FROM audit_links WHERE seq = (SELECT MIN(seq) + 1 FROM audit_links)", "does not follow"),
    ("UPDATE audit_links SET entry_hash = 'x' WHERE seq = (SELECT MAX(seq) FROM audit_links)", "own hash"),
    ("DELETE FROM audit_links WHERE seq = (SELECT MAX(seq) FROM audit_links)", "head does not match"),
    ("INSERT INTO operations (key, kind, currency, amount, credit_wallet, fingerprint, status, applied_at)"
     " VALUES ('forged', 'mint', 'EUR', 100000, 'w-alice', 'f', 'ACSC', '2026-11-24 10:00:00')",
     "slipped in"),
])
def test_any_edit_is_found_and_named(busy, sql: str, problem: str) -> None:
    tamper(busy, sql)
    _, breaks = check(busy)
    assert breaks, "tampering went unnoticed"
    assert any(problem in b.problem for b in breaks), [str(b) for b in breaks]


def test_changed_raw_bytes_are_found(busy) -> None:
    from sqlalchemy import update

    from adapters.sql.tables import inbox
    with busy.engine.begin() as connection:
        connection.execute(update(inbox).where(inbox.c.verdict == "refused").values(raw=b"<x/>"))
    assert [b.problem for b in check(busy)[1]] == ["the row it certifies was changed"]


def test_cli_exits_0_intact_and_1_tampered_naming_the_first_broken_link(busy, monkeypatch) -> None:
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", busy.engine.url.render_as_string(hide_password=False))
    intact = CliRunner().invoke(cli, ["audit", "verify"])
    assert intact.exit_code == 0 and "intact: 8 links" in intact.output
    tamper(busy, "UPDATE operations SET amount = 1 WHERE kind = 'transfer'")
    tampered = CliRunner().invoke(cli, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert "TAMPERED" in tampered.output and "operation uetr:" in tampered.output
