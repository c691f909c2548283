"""The one place that chooses and wires adapters from configuration."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from adapters.config import Settings
from adapters.sql.engine import create_store_engine, is_migrated, redacted
from adapters.sql.store import SqlStore
from bridge.iso.pacs002 import parse_reply_versions
from bridge.iso.reader import MessageReader
from bridge.pipeline import BridgeConfig, Pipeline

LEDGER_GROUP = "tokenbridge.ledgers"


class ConfigurationError(RuntimeError):
    """Configuration that cannot work: unknown ledger, store not initialised, ..."""


def ledger_plugin(settings: Settings) -> Any:
    """The ledger adapter named by TOKENBRIDGE_LEDGER, found in the `tokenbridge.ledgers`
    entry-point group (so a bank can add its own rail without forking)."""
    found = {ep.name: ep for ep in entry_points(group=LEDGER_GROUP)}
    if settings.ledger not in found:
        raise ConfigurationError(f"unknown ledger {settings.ledger!r}; installed: "
                                 f"{', '.join(sorted(found)) or 'none'}")
    return found[settings.ledger].load()(settings)


def open_store(settings: Settings, *, require_schema: bool = True) -> SqlStore:
    engine = create_store_engine(settings.database_url)
    if require_schema and not is_migrated(engine):
        raise ConfigurationError(f"the store at {redacted(settings.database_url)} is not "
                                 "initialised: run `tokenbridge ledger init`")
    return SqlStore(engine, ledger_plugin(settings).ledger_for)


def bridge_config(settings: Settings) -> BridgeConfig:
    return BridgeConfig(
        issuer_bic=settings.issuer_bic,
        allowed_senders=settings.allowed_sender_bics,
        reply_versions=parse_reply_versions(settings.reply_versions) if settings.reply_versions else {},
    )


def build_pipeline(settings: Settings, store: SqlStore) -> Pipeline:
    return Pipeline(MessageReader(max_bytes=settings.max_message_bytes), store,
                    bridge_config(settings), is_transient=store.is_transient, clock=store.clock)
