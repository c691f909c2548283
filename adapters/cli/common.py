"""What the commands share: settings (a bad one: exit 2), the store (its errors: exit 1)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.exc import SQLAlchemyError

from pathlib import Path

from adapters.bootstrap import ConfigurationError, open_store
from adapters.files import UsageError, message_files
from adapters.config import Settings, load_settings
from adapters.sql.engine import redacted
from adapters.sql.store import SqlStore
from bridge.money import Amount


class ConfigurationInvalid(click.ClickException):
    """A setting that cannot be used: exit 2, the usage-error code, before anything connects."""

    exit_code = 2


def settings() -> Settings:
    try:
        return load_settings()
    except (ValueError, OSError) as exc:
        raise ConfigurationInvalid(f"configuration: {exc}") from None


@contextmanager
def store_or_exit(current: Settings, *, require_schema: bool = True) -> Iterator[SqlStore]:
    """The store; configuration and database errors end the command with exit 1 and a message
    that never shows the database password."""
    try:
        store = open_store(current, require_schema=require_schema)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"store {redacted(current.database_url)}: "
                                   f"{type(exc).__name__}") from None
    try:
        yield store
    except SQLAlchemyError as exc:
        raise click.ClickException(f"store {redacted(current.database_url)}: "
                                   f"{str(exc.orig or exc).splitlines()[0]}") from None
    finally:
        store.engine.dispose()


@contextmanager
def ledger_or_exit(current: Settings) -> Iterator[None]:
    """Ledger errors end the command with exit 1 and what went wrong, never a traceback: a node
    that does not answer (connection refused, timeout: OSErrors, as `requests` raises them; not
    their text, which can hold a node URL's API key), or a node, key and store that do not
    belong together."""
    try:
        yield
    except ConfigurationError as exc:
        raise click.ClickException(f"ledger {current.ledger}: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"ledger {current.ledger} unavailable: {type(exc).__name__} "
                                   "(the node does not answer)") from None


def major(units: int, currency: str) -> str:
    """Minor units as a decimal string with the currency's decimals: 125050 EUR -> "1250.50"."""
    return str(Amount.from_minor(units, currency).value)


def files_or_usage_error(paths: tuple[str, ...]) -> list[Path]:
    """The message files PATH... names (directories in file-name order); exit 2 when a path
    does not exist or no file is named."""
    try:
        files = message_files(paths)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    if not files:
        raise click.UsageError("no .xml files in the paths given")
    return files
