"""Issue 13, classes 5 and 8, end to end on SQLite and the real PostgreSQL.

5. Amounts, balances and supplies stay within the ledger's exact range (bridge.money): a mint
   that would pass it is answered RJCT AM02 with nothing applied, and the rest of the message,
   batch or replay goes on (it once made SQLite store a REAL, PostgreSQL abort the run).
8. A camt.053 batch entry with a 0.00 `TxDtls`, or three-decimal EUR parts, is a break or a
   refused statement, never an abort on the store's CHECK.
"""
from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from builders import Tx, pacs008
from camt053_builders import Ntry, camt053
from click.testing import CliRunner
from reconcile_support import ALICE, FATIMA, ManualClock, clocked, pipeline
from schwifty import IBAN

from adapters.cli import cli
from adapters.sql.ledger import SqlLedgerPlugin, SupplyRaisedMeanwhile
from adapters.sql.store import SqlStore
from bridge.accounts import RegisteredAccount
from bridge.money import LEDGER_MAX_UNITS, Amount
from bridge.operations import MINT, TokenOperation

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
JIRO = str(IBAN.generate("DE", bank_code="50019900", account_code="0000731905"))  # a JPY wallet
EIGHTEEN_NINES = "999999999999999999"  # the largest XSD-valid JPY amount (18 digits)


@pytest.fixture()
def tokenbridge(store_url: str, tmp_path: Path, monkeypatch):
    """`tokenbridge ...` in-process on a fresh store (SQLite and PostgreSQL) with the sample
    registry and a JPY wallet on an IBAN."""
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", store_url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    extra = tmp_path / "jiro.csv"
    extra.write_text(f"account,currency,wallet,status,kind\n{JIRO},JPY,w-jiro,active,wallet\n")
    for args in (("ledger", "init"), ("accounts", "import", str(SAMPLES / "accounts.csv")),
                 ("accounts", "import", str(extra))):
        assert invoke(*args).exit_code == 0
    return invoke


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def jpy_mint(amount: str = EIGHTEEN_NINES) -> Tx:
    return Tx(amount=amount, currency="JPY", debtor_iban=FATIMA, creditor_iban=JIRO)


def books(tokenbridge) -> dict:
    result = tokenbridge("balances", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_supply_is_the_sum_of_wallets(found: dict) -> None:
    from decimal import Decimal
    sums: dict[str, Decimal] = {}
    for wallet in found["wallets"]:
        sums[wallet["currency"]] = sums.get(wallet["currency"], Decimal(0)) + Decimal(wallet["balance"])
    assert {c: Decimal(v) for c, v in found["supply"].items()} == {c: v for c, v in sums.items() if v}


# -- class 5: the range ---------------------------------------------------------------------------

def test_a_second_18_digit_jpy_mint_is_rjct_am02_and_changes_nothing(tokenbridge, tmp_path: Path) -> None:
    first = write(tmp_path, "1.xml", pacs008([jpy_mint()]))
    second = write(tmp_path, "2.xml", pacs008([jpy_mint()]))
    # One message: the overflowing transaction is refused, the other one of it applies.
    mixed = write(tmp_path, "3.xml", pacs008([jpy_mint(), Tx(amount="7.00", debtor_iban=FATIMA,
                                                             creditor_iban=ALICE)], ctrl_sum=None))
    replies = tmp_path / "replies"
    result = tokenbridge("replay", "--out", str(replies), first, second, mixed)
    assert result.exit_code == 1, result.output  # not every message accepted; no crash
    assert "rejected 2.xml: RJCT AM02" in result.output and "partial  3.xml" in result.output
    answer = (replies / "2.pacs.002.001.10.xml").read_text()
    assert "<TxSts>RJCT</TxSts>" in answer and "<Cd>AM02</Cd>" in answer
    (answer_file,) = replies.glob("3.*pacs.002.001.10.xml")  # its mint's camt.054 follows it
    answer = answer_file.read_text()
    assert answer.count("<TxSts>RJCT</TxSts>") == 1 and answer.count("<TxSts>ACSC</TxSts>") == 1
    found = books(tokenbridge)
    assert {(w["wallet"], w["balance"]) for w in found["wallets"]} == {("w-jiro", EIGHTEEN_NINES),
                                                                      ("w-alice", "7.00")}
    assert found["supply"] == {"JPY": EIGHTEEN_NINES, "EUR": "7.00"}
    assert_supply_is_the_sum_of_wallets(found)


def test_an_amount_beyond_the_range_is_am02_in_translation() -> None:
    """An XSD-valid amount (18 digits) never passes the range; were one read beyond it all the
    same (a reader that allowed more digits), translation refuses it AM02 before the ledger."""
    from bridge.payments.translation import translate
    from bridge.iso.reader import MessageReader
    read = MessageReader().read(pacs008([jpy_mint()]).encode())
    tx, header = read.payload.transactions[0], read.payload.group_header
    registry = {JIRO: RegisteredAccount(JIRO, "JPY", "w-jiro")}.get
    assert translate(tx, header, registry, key="k").amount == LEDGER_MAX_UNITS
    beyond = replace(tx, amount=Amount(Decimal(LEDGER_MAX_UNITS + 1), "JPY"))
    refused = translate(beyond, header, registry, key="k")
    assert (refused.reason, "beyond the largest amount" in refused.info) == ("AM02", True)
    eur = replace(tx, amount=Amount(Decimal("10000000000000000.00"), "EUR"))  # 10^18 cents
    assert translate(eur, header, registry, key="k").reason == "AM02"


def test_an_overflow_in_a_batch_neither_rolls_back_nor_aborts_the_others(store_url: str, registry) -> None:
    with registry() as uow:
        uow.accounts.upsert([RegisteredAccount(JIRO, "JPY", "w-jiro")])
        uow.commit()
    clock = ManualClock()
    units = []

    def counted():
        units.append(1)
        return clocked(registry, clock)()
    bridge = pipeline(SqlStore(registry.engine, SqlLedgerPlugin(clock=clock), clock), clock)
    bridge.unit_of_work = counted
    messages = [pacs008([Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ALICE)]),
                pacs008([jpy_mint()]),  # the supply reaches the maximum exactly
                pacs008([jpy_mint("1")]),  # one yen more: beyond it
                pacs008([Tx(amount="6.00", debtor_iban=FATIMA, creditor_iban=ALICE)])]
    outcomes = bridge.handle_batch([m.encode() for m in messages])
    assert len(units) == 1  # one unit for the batch: nothing was rolled back and run again
    assert [o.verdict for o in outcomes] == ["accepted", "accepted", "rejected", "accepted"]
    assert outcomes[2].transactions[0].reason == "AM02"
    assert b"AM02" in outcomes[2].reply.body
    with registry() as uow:
        assert uow.ledger.supply() == {"EUR": 1100, "JPY": LEDGER_MAX_UNITS}
        assert {b.wallet: b.balance for b in uow.ledger.balances()} == {
            "w-alice": 1100, "w-jiro": LEDGER_MAX_UNITS}


def test_a_supply_raised_meanwhile_retries_the_unit_which_then_refuses_am02(postgres_url: str) -> None:
    """PostgreSQL units run concurrently and read the supply without a lock: the one that
    commits second finds no room left and is retried (a transient error), never past the range."""
    from adapters.sql.engine import create_store_engine, migrate
    engine = create_store_engine(postgres_url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    room = LEDGER_MAX_UNITS

    def mint(key: str, amount: int) -> TokenOperation:
        return TokenOperation(key, MINT, "JPY", amount, credit_wallet="w-jiro")
    try:
        with store() as late:
            assert late.ledger.apply(mint("late", room - 5)).result == "applied"  # room read now
            with store() as early:
                assert early.ledger.apply(mint("early", 10)).result == "applied"
                early.commit()
            with pytest.raises(SupplyRaisedMeanwhile) as raised:
                late.commit()
        assert store.is_transient(raised.value)
        with store() as retry:
            assert retry.ledger.apply(mint("late", room - 5)).rejection.reason == "AM02"
            assert retry.ledger.supply() == {"JPY": 10}
    finally:
        engine.dispose()


# -- class 8: camt.053 parts ----------------------------------------------------------------------

def test_a_zero_txdtls_is_a_break_the_other_parts_apply(tokenbridge, tmp_path: Path) -> None:
    parts = (Ntry(amount="0.00", end_to_end_id="ZERO-1", message_id="PAY-Z", creditor_iban=ALICE,
                  debtor_iban=FATIMA),
             Ntry(amount="10.00", end_to_end_id="TEN-1", message_id="PAY-T", creditor_iban=ALICE,
                  debtor_iban=FATIMA))
    statement = write(tmp_path, "s.xml", camt053([Ntry(amount="10.00", parts=parts)]))
    for command in (("reconcile", "--json", statement), ("replay", statement)):
        result = tokenbridge(*command)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    found = json.loads(tokenbridge("reconcile", "--json", statement).stdout)  # read-only re-run
    assert [(b["category"], b["reason"]) for b in found["breaks"]] == [
        ("statement_inconsistent", "entry 1, TxDtls 1: an amount of 0.00 EUR is not a payment")]
    assert books(tokenbridge)["supply"] == {"EUR": "10.00"}  # the 10.00 part minted, once


def test_three_decimal_parts_refuse_the_statement_nothing_applied(tokenbridge, tmp_path: Path) -> None:
    parts = tuple(Ntry(amount=value, end_to_end_id=f"P-{n}", message_id="PAY-3D", creditor_iban=ALICE,
                       debtor_iban=FATIMA) for n, value in enumerate(("3.333", "3.333", "3.334")))
    statement = write(tmp_path, "s.xml", camt053([Ntry(amount="10.00", parts=parts)]))
    result = tokenbridge("replay", statement)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    result = tokenbridge("reconcile", "--json", statement)
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    assert [b["category"] for b in found["breaks"]] == ["statement_inconsistent"]
    assert "3.333 EUR has more than 2 decimals" in found["breaks"][0]["reason"]
    assert books(tokenbridge)["supply"] == {}


# -- the store -----------------------------------------------------------------------------------

def test_sums_of_postings_are_exact_whatever_their_order(store) -> None:
    """SQLite's SUM fails when any partial sum overflows 64 bits, though the total fits: the
    ledger's sums (balances and supply as of a time) add two halves that cannot overflow."""
    from sqlalchemy import BigInteger, literal, select, union_all

    from adapters.sql.statements import combined, exact_sum
    big = 2**63 - 1
    rows = union_all(*(select(literal(x, BigInteger).label("x")) for x in (big, big, -big, -big, -5))).subquery()
    with store() as uow:
        assert combined(*uow.connection.execute(select(*exact_sum(rows.c.x))).one()) == -5
        assert combined(*uow.connection.execute(
            select(*exact_sum(rows.c.x)).where(rows.c.x > 0)).one()) == 2 * big


def test_the_migration_stores_the_supply_of_an_existing_store(store_url: str) -> None:
    """0005 computes the stored supply (SQL ledger) and the issuance account's available
    balance (EVM ledger) from what a store already holds."""
    from datetime import datetime

    from sqlalchemy import select

    from adapters.evm.tables import evm_available
    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.tables import operations, postings, supply
    engine = create_store_engine(store_url)
    try:
        migrate(engine, "0004")
        now = datetime(2026, 11, 24, 9)
        with engine.begin() as connection:
            for seq, (kind, amount, debit, credit) in enumerate(
                    (("mint", 500, None, "w-alice"), ("burn", 200, "w-alice", None)), start=1):
                connection.execute(operations.insert().values(
                    seq=seq, key=f"k{seq}", kind=kind, currency="EUR", amount=amount, debit_wallet=debit,
                    credit_wallet=credit, fingerprint="f", status="ACSC", applied_at=now))
                legs = ((debit or "issuance:EUR", -amount), (credit or "issuance:EUR", amount))
                connection.execute(postings.insert(), [dict(operation_seq=seq, holder=h, counterparty="x",
                                                            currency="EUR", amount=a, posted_at=now)
                                                       for h, a in legs])
            connection.execute(evm_available.insert(), [
                dict(wallet="0xA", currency="JPY", available=LEDGER_MAX_UNITS),
                dict(wallet="0xB", currency="JPY", available=0)])
        migrate(engine)
        with engine.connect() as connection:
            assert dict(connection.execute(select(supply.c.currency, supply.c.supply)).all()) == {"EUR": 300}
            assert connection.execute(select(evm_available.c.available).where(
                evm_available.c.wallet == "issuance:JPY")).scalar_one() == -LEDGER_MAX_UNITS
    finally:
        engine.dispose()
