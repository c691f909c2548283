"""The audit trail covers the money: any change to the postings, the balances or the operations is
found by `audit verify` (exit 1) and named, table and row, on SQLite and PostgreSQL; a store
upgraded from the schema before (0007) verifies, and later tampering is caught."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from adapters.cli import cli
from adapters.sql import audit
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlAccountRegistry, SqlStore
from adapters.sql.tables import accounts
from bridge.accounts import RegisteredAccount, parse_registry_rows
from bridge.audit import OPERATION, POSTINGS
from bridge.iso.reader import MessageReader
from bridge.parties import normalised_account
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from builders import Tx, pacs008

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ALICE, BRUNO, FATIMA = "DE82500199000417283905", "DE17500199000602517730", "FR7630004008280001058392658"
# The transfer alice -> bruno: its operation, and its postings (debit leg first).
TRANSFER = "(SELECT seq FROM operations WHERE kind = 'transfer')"
DEBIT_LEG = f"(SELECT MIN(id) FROM postings WHERE operation_seq = {TRANSFER})"
MINT = "(SELECT seq FROM operations WHERE kind = 'mint')"


@pytest.fixture()
def cli_env(store_url: str, monkeypatch):
    """`tokenbridge ...` in-process on a fresh store (SQLite or PostgreSQL) with the sample registry."""
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", store_url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    assert invoke("ledger", "init").exit_code == 0
    assert invoke("accounts", "import", str(SAMPLES / "accounts.csv")).exit_code == 0
    return invoke


@pytest.fixture()
def books(store_url: str, cli_env):
    """A mint of 10.00 EUR to alice and a transfer of 2.00 EUR from alice to bruno."""
    engine = create_store_engine(store_url)
    store = SqlStore(engine, SqlLedgerPlugin())
    run = MessageBus(MessageReader(), store, is_transient=store.is_transient)
    for body in (pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]),
                 pacs008([Tx(amount="2.00", debtor_iban=ALICE, creditor_iban=BRUNO)])):
        assert run.handle(body.encode()).verdict == "accepted"
    yield store
    engine.dispose()


def tamper(store: SqlStore, *sql: str) -> None:
    with store.engine.begin() as connection:
        for statement in sql:
            connection.execute(text(statement))


def findings(store: SqlStore) -> list:
    with store.engine.connect() as connection:
        found = audit.verify(connection)[1]
    assert found, "tampering went unnoticed"
    return found


def key_of(store: SqlStore, kind: str) -> str:
    with store.engine.connect() as connection:
        return connection.execute(text(f"SELECT key FROM operations WHERE kind = '{kind}'")).scalar_one()


def posting_id(store: SqlStore, sql: str) -> str:
    with store.engine.connect() as connection:
        return str(connection.execute(text(f"SELECT {sql}")).scalar_one())


def named(found: list, table: str, reference: str) -> bool:
    return any(f.table == table and f.reference == reference for f in found)


def chained(found: list, key: str) -> bool:
    """The link certifying the postings of the operation under `key` is named as broken."""
    return any(f.entity == POSTINGS and f.reference == key and f.sequence is not None for f in found)


@pytest.mark.parametrize("sql", [
    f"UPDATE postings SET amount = -100000 WHERE id = {DEBIT_LEG}",
    f"UPDATE postings SET holder = 'w-mallory' WHERE id = {DEBIT_LEG}",
    f"UPDATE postings SET currency = 'USD' WHERE id = {DEBIT_LEG}",
    f"UPDATE postings SET operation_seq = {MINT} WHERE id = {DEBIT_LEG}",  # moved to another operation
    f"UPDATE postings SET posted_at = '2020-01-01 00:00:00' WHERE id = {DEBIT_LEG}",
    f"UPDATE postings SET counterparty = 'w-mallory' WHERE id = {DEBIT_LEG}",
], ids=["amount", "holder", "currency", "operation", "time", "counterparty"])
def test_an_edited_posting_is_found_and_named(books, sql: str) -> None:
    leg = posting_id(books, DEBIT_LEG)
    tamper(books, sql)
    found = findings(books)
    assert chained(found, key_of(books, "transfer")), [str(f) for f in found]
    assert named(found, "postings", leg), [str(f) for f in found]  # not one of its operation's legs


def test_a_deleted_posting_is_found_and_its_operation_named(books) -> None:
    tamper(books, f"DELETE FROM postings WHERE id = {DEBIT_LEG}")
    found = findings(books)
    transfer = key_of(books, "transfer")
    assert chained(found, transfer)
    assert any(f.table == "postings" and f.entity == "operation" and f.reference == transfer
               and "is missing" in f.problem for f in found)
    assert named(found, "balances", "w-alice EUR")  # alice's row no longer sums from her postings


@pytest.mark.parametrize("hidden", [False, True], ids=["alone", "with-its-balance"])
def test_a_forged_posting_is_found_even_with_the_balance_edited_to_match(books, hidden: bool) -> None:
    forged = ["INSERT INTO postings (operation_seq, holder, counterparty, currency, amount, posted_at) "
              f"VALUES ({MINT}, 'w-alice', 'issuance:EUR', 'EUR', 100000, '2026-11-24 10:00:00')"]
    if hidden:
        forged.append("UPDATE balances SET balance = balance + 100000 WHERE wallet = 'w-alice'")
    tamper(books, *forged)
    found = findings(books)
    new = posting_id(books, "MAX(id) FROM postings")
    assert chained(found, key_of(books, "mint")) and named(found, "postings", new)
    assert any(f.entity == "supply" and f.reference == "EUR" for f in found) == hidden


def test_an_issuance_posting_edited_is_found(books) -> None:
    tamper(books, "UPDATE postings SET amount = amount - 500 WHERE holder = 'issuance:EUR'")
    found = findings(books)
    assert chained(found, key_of(books, "mint"))
    assert any(f.entity == "supply" and f.reference == "EUR" for f in found)


@pytest.mark.parametrize("sql, row, problem", [
    ("UPDATE balances SET balance = balance + 1 WHERE wallet = 'w-alice'", "w-alice EUR",
     "the row says 801, its postings sum to 800"),
    ("UPDATE balances SET balance = 0 WHERE wallet = 'w-bruno'", "w-bruno EUR",
     "the row says 0, its postings sum to 200"),
    ("INSERT INTO balances (wallet, currency, balance) VALUES ('w-mallory', 'EUR', 100000)",
     "w-mallory EUR", "no postings: it was slipped in"),
    ("INSERT INTO balances (wallet, currency, balance) VALUES ('w-mallory', 'EUR', 0)",
     "w-mallory EUR", "no postings: it was slipped in"),
    ("INSERT INTO balances (wallet, currency, balance) VALUES ('issuance:EUR', 'EUR', 1000)",
     "issuance:EUR EUR", "an issuance account has no balance row"),
    ("DELETE FROM balances WHERE wallet = 'w-bruno'", "w-bruno EUR", "it was deleted"),
], ids=["raised", "zeroed", "inserted", "inserted-zero", "issuance", "deleted"])
def test_a_changed_balance_row_is_found_and_named(books, sql: str, row: str, problem: str) -> None:
    tamper(books, sql)
    found = findings(books)
    assert any(f.table == "balances" and f.reference == row and problem in f.problem for f in found), \
        [str(f) for f in found]


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE supply SET supply = supply + 1 WHERE currency = 'EUR'", "the supply row says 1001"),
    ("DELETE FROM supply WHERE currency = 'EUR'", "the supply row says 0"),
    ("INSERT INTO supply (currency, supply) VALUES ('JPY', 5)", "the supply row says 5"),
], ids=["raised", "deleted", "inserted"])
def test_a_changed_supply_row_is_found_and_named(books, sql: str, problem: str) -> None:
    """The ledger keeps each currency's supply to hold its range: a row that no longer equals
    what the issuance postings gave out is tampering (room to mint past the range, or none)."""
    tamper(books, sql)
    found = findings(books)
    assert any(f.table == "supply" and problem in f.problem for f in found), [str(f) for f in found]


@pytest.mark.parametrize("column, value", [
    ("amount", "20000"), ("debit_wallet", "'w-mallory'"), ("credit_wallet", "'w-mallory'"),
    ("key", "'forged-key'"), ("status", "'RJCT'"), ("currency", "'USD'"),
])
def test_an_edited_operation_row_is_found_and_named(books, column: str, value: str) -> None:
    transfer = key_of(books, "transfer")
    tamper(books, f"UPDATE operations SET {column} = {value} WHERE kind = 'transfer'")
    found = findings(books)
    assert named(found, "operations", transfer), [str(f) for f in found]
    assert any(f.sequence is not None for f in found if f.table == "operations")  # its link named


def test_cli_exits_1_with_one_line_per_finding_and_json(books, cli_env) -> None:
    assert cli_env("audit", "verify").exit_code == 0
    tamper(books, "UPDATE balances SET balance = balance + 1 WHERE wallet = 'w-alice'",
           f"DELETE FROM postings WHERE id = {DEBIT_LEG}")
    result = cli_env("audit", "verify")
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines() if line.startswith("  ")]
    with books.engine.connect() as connection:
        expected = [str(f) for f in audit.verify(connection)[1]]
    assert lines == expected and len(lines) >= 3
    assert any(line.startswith("balance w-alice EUR (table balances)") for line in lines)
    report = json.loads(cli_env("audit", "verify", "--json").output)
    assert report["intact"] is False and report["links"] > 0
    assert {"table": "balances", "entity": "balance", "reference": "w-alice EUR", "link": None} \
        .items() <= next(f for f in report["findings"] if f["table"] == "balances").items()


def test_an_untouched_store_after_a_replay_of_the_samples_verifies(cli_env) -> None:
    from adapters.bootstrap import build_bus
    from adapters.cli.common import settings, store_or_exit
    current = settings()
    with store_or_exit(current) as store:  # as `replay` does (in-process: its console cannot
        pipeline = build_bus(current, store)  # print a camt.053's verdict `breaks` today)
        for folder in ("camt053", "pacs008", "invalid", "pacs008"):
            for path in sorted((SAMPLES / folder).iterdir()):
                pipeline.handle(path.read_bytes())
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM postings")).scalar_one() > 10
    result = cli_env("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    report = json.loads(cli_env("audit", "verify", "--json").output)
    assert report["intact"] is True and report["findings"] == []
    assert cli_env("balances", "--json").exit_code == 0


def test_a_batch_in_one_unit_of_work_verifies_and_its_tampering_is_caught(store_url, cli_env) -> None:
    """The worker's way: 100 messages (mints, transfers, a resend, a refusal) in one unit of work,
    so one append to the chain."""
    engine = create_store_engine(store_url)
    store = SqlStore(engine, SqlLedgerPlugin())
    run = MessageBus(MessageReader(), store, is_transient=store.is_transient)
    bodies = []
    for i in range(99):
        tx = (Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE) if i % 3 else
              Tx(amount="1.00", debtor_iban=ALICE, creditor_iban=BRUNO))
        bodies.append(pacs008([tx]).encode())
    bodies[50] = bodies[10]  # a resend in the same batch
    bodies.append(b"<not-iso/>")
    with engine.connect() as connection:
        before = connection.execute(text("SELECT length FROM audit_head")).scalar_one()
    run.handle_batch(bodies)
    with engine.connect() as connection:
        length, found = audit.verify(connection)
        operations = connection.execute(text("SELECT COUNT(*) FROM operations")).scalar_one()
    assert found == [] and operations > 60 and length == before + 2 * operations + 99  # one inbox record per digest
    tamper(store, "UPDATE balances SET balance = balance - 1 WHERE wallet = 'w-bruno'")
    assert named(findings(store), "balances", "w-bruno EUR")
    engine.dispose()


# -- a store from before the money was chained (schema 0007) -----------------------------------

REGISTRY_0007 = ("account", "currency", "wallet", "status", "kind", "scheme", "issuer")
"""The registry's columns at 0007 (`group` came with 0013)."""


def store_at_0007(url: str) -> SqlStore:
    """A store migrated up to 0007 only, with the sample registry written as the code then did."""
    engine = create_store_engine(url)
    migrate(engine, "0007")
    with (SAMPLES / "accounts.csv").open(newline="") as handle, engine.begin() as connection:
        rows = parse_registry_rows(csv.DictReader(handle))
        connection.execute(accounts.insert(), [{c: getattr(r, c) for c in REGISTRY_0007} for r in rows])
    return SqlStore(engine, SqlLedgerPlugin())


def registry_as_0007(registry: SqlAccountRegistry, account: str) -> RegisteredAccount | None:
    """The registry read as the code before 0013 did: without the `group` column."""
    row = registry.connection.execute(select(*(accounts.c[c] for c in REGISTRY_0007)).where(
        accounts.c.account == normalised_account(account))).first()
    return None if row is None else RegisteredAccount(*row)


def run_as_0007(store: SqlStore, monkeypatch, *bodies: str) -> None:
    """Run messages through the pipeline as the code before 0008 did: an operation's row linked,
    its postings not."""
    def operation_row_only(connection, row, legs) -> None:
        audit.record(connection, OPERATION, row["key"], audit.certified(OPERATION, row))
    from schema_then import without_holds
    with monkeypatch.context() as patched:
        patched.setattr(audit, "record_operation", operation_row_only)
        patched.setattr(SqlAccountRegistry, "get", registry_as_0007)
        without_holds(patched)
        # nor notifications: the registry had no `group` column to look a wallet's account up in
        run = MessageBus(MessageReader(), store, BridgeConfig(notifications=False),
                         is_transient=store.is_transient)
        for body in bodies:
            assert run.handle(body.encode()).verdict == "accepted"


def test_a_store_upgraded_from_0007_verifies_and_later_tampering_is_caught(store_url, monkeypatch) -> None:
    store = store_at_0007(store_url)
    run_as_0007(store, monkeypatch, pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]),
                pacs008([Tx(amount="2.00", debtor_iban=ALICE, creditor_iban=BRUNO)]))
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM audit_links")).scalar_one() == 2 + 2
    migrate(store.engine)
    with store.engine.connect() as connection:
        length, found = audit.verify(connection)
    assert found == [] and length == 4 + 2  # the two operations' postings linked by 0008
    run = MessageBus(MessageReader(), store, is_transient=store.is_transient)  # and it goes on
    assert run.handle(pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=BRUNO)])
                      .encode()).verdict == "accepted"
    with store.engine.connect() as connection:
        assert audit.verify(connection)[1] == []
    tamper(store, f"UPDATE postings SET amount = -1 WHERE id = {DEBIT_LEG}")
    assert chained(findings(store), key_of(store, "transfer"))
    store.engine.dispose()


def test_tampering_from_before_the_upgrade_is_still_found(store_url, monkeypatch) -> None:
    """0008 links the postings as it finds them; a posting edited before is still not one of its
    operation's legs, and the balances no longer sum from the postings."""
    store = store_at_0007(store_url)
    run_as_0007(store, monkeypatch, pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]))
    tamper(store, "UPDATE postings SET amount = 100000 WHERE holder = 'w-alice'")
    migrate(store.engine)
    found = findings(store)
    leg = posting_id(store, "id FROM postings WHERE holder = 'w-alice'")
    assert named(found, "postings", leg) and named(found, "balances", "w-alice EUR")
    store.engine.dispose()


# -- the EVM ledger: the store's record of what was asked of the chain ---------------------------

ADDRESS_A, ADDRESS_B = "0x" + "a1" * 20, "0x" + "b2" * 20


@pytest.fixture()
def evm_books(store_url: str):
    """An EVM-ledger store with a mint and a transfer planned (not settled: the chain is not
    needed to plan, nor to verify the store)."""
    from datetime import datetime

    from adapters.evm.ledger import EvmLedgerPlugin
    from adapters.evm.tables import evm_contracts
    from bridge.operations import TokenOperation
    engine = create_store_engine(store_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(evm_contracts.insert().values(
            currency="EUR", address="0x" + "c3" * 20, chain_id=31337, deployed_block=1,
            scanned_block=0, recorded_at=datetime(2026, 11, 24)))
    store = SqlStore(engine, EvmLedgerPlugin())
    with store() as uow:
        for operation in (TokenOperation("k-mint", "mint", "EUR", 1000, None, ADDRESS_A),
                          TokenOperation("k-transfer", "transfer", "EUR", 200, ADDRESS_A, ADDRESS_B)):
            assert uow.ledger.apply(operation).status == "ACSP"
        uow.commit()
    yield store
    engine.dispose()


def test_evm_operations_are_chained_as_planned_and_their_settlement_state_is_not(evm_books) -> None:
    with evm_books.engine.connect() as connection:
        length, found = audit.verify(connection)
    assert found == [] and length == 2
    # The settlement engine moves state, nonce and transaction on its own: the chain decides them.
    tamper(evm_books, "UPDATE evm_operations SET state = 'submitted', nonce = 7, attempts = 1")
    with evm_books.engine.connect() as connection:
        assert audit.verify(connection)[1] == []


@pytest.mark.parametrize("sql, reference", [
    ("UPDATE evm_operations SET amount = 100000 WHERE key = 'k-transfer'", "k-transfer"),
    (f"UPDATE evm_operations SET credit_wallet = '{'0x' + 'dd' * 20}' WHERE key = 'k-transfer'", "k-transfer"),
    ("DELETE FROM evm_operations WHERE key = 'k-mint'", "k-mint"),
    ("INSERT INTO evm_operations (key, payment_ref, kind, currency, amount, credit_wallet, fingerprint,"
     " state, gas_limit, attempts, planned_at) VALUES ('forged', '0xforged', 'mint', 'EUR', 100000,"
     f" '{ADDRESS_B}', 'f', 'planned', 100000, 0, '2026-11-24 10:00:00')", "forged"),
], ids=["amount", "wallet", "deleted", "forged"])
def test_an_edited_evm_operation_is_found_and_named(evm_books, sql: str, reference: str) -> None:
    tamper(evm_books, sql)
    found = findings(evm_books)
    assert named(found, "evm_operations", reference), [str(f) for f in found]


# -- the money checks, pure ----------------------------------------------------------------------

def test_check_money_recomputes_balances_and_supply_from_the_legs() -> None:
    from datetime import datetime

    from bridge.audit import LedgerOperation, check_money, legs_of
    at = datetime(2026, 11, 24, 10)
    ops = {1: LedgerOperation("k1", "EUR", 1000, None, "w-a", at),
           2: LedgerOperation("k2", "EUR", 300, "w-a", "w-b", at),
           3: LedgerOperation("k3", "EUR", 100, "w-b", None, at)}
    legs = {seq: legs_of(op) for seq, op in ops.items()}
    assert check_money(ops, legs, {("w-a", "EUR"): 700, ("w-b", "EUR"): 200}) == []
    found = check_money(ops, legs, {("w-a", "EUR"): 700, ("w-b", "EUR"): 200, ("w-c", "EUR"): 0})
    assert [str(f) for f in found] == [
        "balance w-c EUR (table balances): the row says 0, yet it has no postings: it was slipped in"]
    orphan = {**legs, 9: legs_of(LedgerOperation("k9", "EUR", 5, None, "w-b", at))}
    found = check_money(ops, orphan, {("w-a", "EUR"): 700, ("w-b", "EUR"): 205})
    assert [(f.table, f.entity) for f in found] == [("postings", "posting")] * 2  # balances match them
    assert "belongs to no operation (operation_seq 9)" in found[0].problem
    found = check_money(ops, legs, {("w-a", "EUR"): 700, ("w-b", "EUR"): 210})
    assert [(f.entity, f.reference) for f in found] == [("balance", "w-b EUR"), ("supply", "EUR")]


def test_content_hash_keeps_the_bytes_of_the_links_already_chained() -> None:
    """Stores chain rows with content_hash since migration 0003: a faster form must hash every
    kind of field exactly as the old one did (the value pinned here was computed by it)."""
    from datetime import datetime

    from bridge.audit import content_hash
    row = {"digest": "ab" * 32, "received_at": datetime(2026, 11, 24, 10, 0, 0, 123456),
           "message_type": "pacs.008.001.08", "message_id": "MSG-Ünï", "business_message_id": None,
           "sender": "TOKNDEFFXXX", "verdict": "accepted", "summary": "ACSC mint 10.00 EUR -> w-alice",
           "raw": b"<Document/>", "reply_id": "TB1", "amount": -1000, "flag": True,
           "at0": datetime(2026, 11, 24), "raw2": memoryview(b"x")}
    assert content_hash(row) == "3058a0302d793e5db763127370962fbec2ef0d8b4bcaf20194578b3e2a7e0e09"
