"""Shared fixtures: the public corpus (read in place, skipped when absent) and the reader."""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/builders.py

CORPUS_ROOT = Path(os.environ.get("TOKENBRIDGE_CORPUS",
                                  Path(__file__).resolve().parents[2] / "shared" / "iso20022"))


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    if not (CORPUS_ROOT / "corpus").is_dir():
        service_unavailable(f"public ISO 20022 corpus at {CORPUS_ROOT}/corpus "
                            "(set TOKENBRIDGE_CORPUS to its parent folder)",
                            FileNotFoundError(str(CORPUS_ROOT / "corpus")))
    return CORPUS_ROOT


@pytest.fixture(scope="session")
def reader():
    from bridge.iso.reader import MessageReader
    return MessageReader()


# -- stores: SQLite files and throw-away PostgreSQL databases ------------------------------

POSTGRES_ADMIN_URL = os.environ.get("TOKENBRIDGE_TEST_POSTGRES",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def service_unavailable(what: str, error: BaseException) -> None:
    """Skip on a developer machine without the service; under CI a missing service fails."""
    message = f"{what} unavailable ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def start_anvil(**options):
    """A new anvil node (npm @foundry-rs/anvil) on a free port; skipped (failed under CI) when
    the toolchain is missing. EVM test modules each keep their own node (module fixtures)."""
    from adapters.evm.devchain import AnvilNode, ToolchainMissing
    try:
        return AnvilNode(**options)
    except ToolchainMissing as error:
        service_unavailable("anvil (npm @foundry-rs/anvil)", error)


@pytest.fixture()
def postgres_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = f"tb_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server
        admin.dispose()
        service_unavailable("PostgreSQL at 127.0.0.1:5432", error)
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request) -> str:
    """Each store test runs on SQLite and on the real PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture()
def store(store_url: str):
    """A migrated SQL store (with the SQL ledger) on a fresh database."""
    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    engine = create_store_engine(store_url)
    migrate(engine)
    yield SqlStore(engine, SqlLedgerPlugin())
    engine.dispose()


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture()
def registry(store):
    """The store with the sample account registry imported."""
    import csv

    from bridge.accounts import parse_registry_rows
    with (SAMPLES / "accounts.csv").open(newline="") as handle:
        rows = parse_registry_rows(csv.DictReader(handle))
    with store() as uow:
        uow.accounts.upsert(rows)
        uow.commit()
    return store


@pytest.fixture()
def memory_registry():
    """An in-memory store (tests/fakes.py, a fake of the ports) with the sample account
    registry: the core's logic without a database. The ledger contract holds it to the same
    rules as the SQL and EVM ledgers."""
    from fakes import InMemoryStore

    from bridge.accounts import parse_registry_rows
    store = InMemoryStore()
    with (SAMPLES / "accounts.csv").open(newline="") as handle, store() as uow:
        uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
        uow.commit()
    return store


# -- RabbitMQ ------------------------------------------------------------------------------

@pytest.fixture()
def amqp_prefix():
    """Unique exchange/queue names on the real broker at 127.0.0.1:5672, deleted afterwards."""
    import uuid

    import pika
    from broker import AMQP_URL, delete_names
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except Exception as error:  # noqa: BLE001
        service_unavailable("RabbitMQ at 127.0.0.1:5672", error)
    prefix = f"tbtest-{uuid.uuid4().hex[:8]}"
    yield prefix
    delete_names(prefix)


def seeded_store(url: str):
    """A migrated store at `url` with the sample account registry imported."""
    import csv

    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    from bridge.accounts import parse_registry_rows
    engine = create_store_engine(url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin())
    with (SAMPLES / "accounts.csv").open(newline="") as handle, store() as uow:
        uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
        uow.commit()
    return store


@pytest.fixture(scope="module")
def sqlite_registry_module(tmp_path_factory):
    """A SQLite store with the sample registry, shared by one module (for property tests)."""
    store = seeded_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.db'}")
    yield store
    store.engine.dispose()


# -- the CLI on a seeded SQLite store --------------------------------------------------------

@pytest.fixture()
def seeded_cli(tmp_path: Path, monkeypatch):
    """`tokenbridge ...` in-process on a fresh SQLite ledger with the sample registry."""
    from click.testing import CliRunner

    from adapters.cli import cli
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    invoke("ledger", "init")
    invoke("accounts", "import", str(SAMPLES / "accounts.csv"))
    return invoke
