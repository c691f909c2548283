"""Engines for the store: one code path for SQLite and PostgreSQL, migrated by Alembic."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from adapters.sql.urls import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"

SQLITE_BUSY_TIMEOUT_S = 30
"""How long a SQLite writer waits for another process's write lock before failing."""


def create_store_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN (so BEGIN IMMEDIATE below takes effect).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection) -> None:
        # Take the write lock up front: two processes never deadlock upgrading read locks.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def redacted(url: str) -> str:
    """The URL without its password, for logs and errors."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def migrate(engine: Engine, revision: str = "head") -> str:
    """Create or upgrade the schema to `revision` (the newest by default); returns the
    revision the store is at."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    with engine.connect() as connection:
        from alembic.runtime.migration import MigrationContext
        return MigrationContext.configure(connection).get_current_revision() or ""


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
