"""The account registry: identifiers stored as they are compared, scheme and issuer of an Othr/Id,
reserved ledger names refused at import (all or nothing), and the 0005 migration."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from adapters.cli import cli
from bridge.accounts import (RegisteredAccount, RegistryError, find_registered, is_ledger_book,
                             parse_registry_rows)
from bridge.parties import AccountId
from bridge.ports import issuance_holder

HEADER = "account,currency,wallet,status,kind,scheme,issuer\n"


def rows(body: str, header: str = HEADER) -> list[RegisteredAccount]:
    return parse_registry_rows(csv.DictReader(io.StringIO(header + body)))


def problems(body: str) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        rows(body)
    return caught.value.problems


def test_identifiers_are_stored_as_they_are_compared() -> None:
    (iban, other) = rows("de82 5001 9900 0417 2839 05,EUR,w-alice,,,,\n"
                         " acc-7 ,EUR,w-carl,,,cd: bban , Token  Bank ag \n")
    assert iban.account == "DE82500199000417283905" and (iban.scheme, iban.issuer) == (None, None)
    assert (other.account, other.scheme, other.issuer) == ("ACC-7", "Cd:BBAN", "TOKEN BANK AG")
    registry = {a.account: a for a in (iban, other)}
    assert find_registered(AccountId(other="Acc-7", scheme="BBAN", issuer="token bank AG"), registry.get) == other
    assert find_registered(AccountId(iban="DE82500199000417283905"), registry.get) == iban


def test_the_old_header_without_scheme_and_issuer_still_imports() -> None:
    (row,) = rows("JP-TANAKA-001,JPY,w-chiyo,active,wallet\n", "account,currency,wallet,status,kind\n")
    assert (row.scheme, row.issuer) == (None, None)


@pytest.mark.parametrize("scheme, expected", [
    ("Cd:BBAN", "Cd:BBAN"), ("cd:bban", "Cd:BBAN"), ("Prtry:TokenBank", "Prtry:TOKENBANK"),
    ("PRTRY: Token  Bank ", "Prtry:TOKEN BANK")])
def test_a_scheme_says_whether_it_is_a_code_or_proprietary(scheme, expected) -> None:
    assert rows(f"ACC-1,EUR,w-1,,,{scheme},\n")[0].scheme == expected


@pytest.mark.parametrize("row, problem", [
    ("ACC-1,EUR,w-1,,,TOKENBANK,", "must say its kind"),
    ("ACC-1,EUR,w-1,,,Cd:TOKENBANK,", "at most 4"),
    ("ACC-1,EUR,w-1,,,Cd:,", "must say its kind"),
    ("ACC-1,EUR,issuance:EUR,,,,", "ledger keeps for its own books"),
    ("ACC-1,EUR,ISSUANCE:JPY,,,,", "ledger keeps for its own books"),
    ("ACC-1,EUR,0x0000000000000000000000000000000000000000,,,,", "ledger keeps for its own books"),
    ("issuance:EUR,EUR,,active,omnibus,,", "ledger keeps for its own books"),
])
def test_bad_rows_are_named(row, problem) -> None:
    (found,) = problems(row + "\n")
    assert found.startswith("line 2") and problem in found


def test_two_ids_that_differ_only_in_case_or_spacing_are_one_account() -> None:
    (found,) = problems("DE82500199000417283905,EUR,w-a,,,,\nde82 5001 9900 0417 2839 05,EUR,w-b,,,,\n")
    assert found == "line 3: account repeats line 2"


def test_every_ledger_book_name_is_reserved() -> None:
    assert all(is_ledger_book(issuance_holder(ccy)) for ccy in ("EUR", "JPY", "KWD", "XYZ"))
    assert not is_ledger_book("w-alice") and not is_ledger_book("0x" + "00" * 19 + "01")


# -- the command ----------------------------------------------------------------------------

@pytest.fixture()
def tokenbridge(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    assert invoke("ledger", "init").exit_code == 0
    return invoke


def test_accounts_import_refuses_a_reserved_ledger_name_and_applies_nothing(tokenbridge, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "DE82500199000417283905,EUR,w-alice,active,wallet,,\n"
                            "DE17500199000602517730,EUR,issuance:EUR,active,wallet,,\n"
                            "ACC-7,EUR,w-carl,active,wallet,BBAN,\n")
    result = tokenbridge("accounts", "import", str(bad))
    assert result.exit_code == 1
    assert "line 3: wallet 'issuance:EUR' is a name the ledger keeps for its own books" in result.output
    assert "line 4: scheme 'BBAN' must say its kind" in result.output
    assert "nothing was imported" in result.output
    assert json.loads(tokenbridge("accounts", "list", "--json").output) == []


def test_accounts_import_stores_normalised_ids_with_scheme_and_issuer(tokenbridge, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "de82 5001 9900 0417 2839 05,EUR,w-alice,active,wallet,,\n"
                             "acc-7,EUR,w-carl,active,wallet,Cd:BBAN,Token Bank AG\n")
    assert tokenbridge("accounts", "import", str(good)).exit_code == 0
    listed = {a["account"]: a for a in json.loads(tokenbridge("accounts", "list", "--json").output)}
    assert set(listed) == {"DE82500199000417283905", "ACC-7"}
    assert (listed["ACC-7"]["scheme"], listed["ACC-7"]["issuer"]) == ("Cd:BBAN", "TOKEN BANK AG")
    assert tokenbridge("accounts", "list").exit_code == 0  # the table shows the new columns


# -- the migration --------------------------------------------------------------------------

def test_migration_0006_adds_scheme_and_issuer_and_folds_existing_ids(store_url: str) -> None:
    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    engine = create_store_engine(store_url)
    migrate(engine, "0005")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO accounts (account, currency, wallet, status, kind) "
                                "VALUES ('kw03tokn0000000000000045301187', 'KWD', 'w-dana', 'active', 'wallet')"))
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    with store() as uow:
        found = uow.accounts.get("kw03 tokn 0000 0000 0000 0045 3011 87")
    assert found == RegisteredAccount("KW03TOKN0000000000000045301187", "KWD", "w-dana")
    engine.dispose()
