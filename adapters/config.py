"""Configuration from the environment (TOKENBRIDGE_*), optionally from a TOML file first.

The file named by TOKENBRIDGE_CONFIG may set the same keys, lower-case without the prefix
(`database_url = "..."`); the environment wins over the file.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from bridge.iso.safe_xml import DEFAULT_MAX_BYTES

PREFIX = "TOKENBRIDGE_"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///tokenbridge.db"
    issuer_bic: str | None = None
    allowed_senders: str | None = None  # comma-separated BICs; None = any
    statement_senders: str | None = None  # comma-separated BICs; None = the issuer (bridge.authorisation)
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    ledger: str = "sql"
    evm_url: str | None = None
    evm_key: str | None = None  # never logged, never printed
    evm_contracts: str | None = None  # "EUR=0x...[@block],JPY=0x...": adopt instead of deploying
    evm_currencies: str | None = None  # tokens `ledger init` deploys; default: the registry's
    evm_confirmations: int = 1  # blocks (the mined one included) before ACSP becomes ACSC
    evm_max_in_flight: int = 500  # submitted, unmined transactions at most
    max_message_bytes: int = DEFAULT_MAX_BYTES
    reply_versions: str | None = None  # "pacs.008.001.08=pacs.002.001.12,..." overrides
    amqp_prefix: str = "tokenbridge"  # names: <prefix>.in, <prefix>.out, <prefix>.dead, <prefix>.retry
    prefetch: int = 200
    batch_size: int = 100
    max_attempts: int = 7  # transient failures: first try + retries, then dead-letter
    metrics_port: int = 0  # Prometheus endpoint of the worker; 0 = off

    @property
    def allowed_sender_bics(self) -> frozenset[str] | None:
        return _bic_list(self.allowed_senders)

    @property
    def statement_sender_bics(self) -> frozenset[str] | None:
        return _bic_list(self.statement_senders)

    def __repr__(self) -> str:  # keep the key out of any log line or traceback
        shown = {f.name: ("***" if f.name == "evm_key" and getattr(self, f.name) else getattr(self, f.name))
                 for f in fields(self)}
        return f"Settings({shown})"


def _bic_list(listed: str | None) -> frozenset[str] | None:
    """Comma-separated BICs as a set; None when none is given."""
    bics = frozenset(b.strip().upper() for b in (listed or "").split(",") if b.strip())
    return bics or None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from TOKENBRIDGE_CONFIG (if any), then the environment."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    config_file = environ.get(PREFIX + "CONFIG")
    if config_file:
        values.update(tomllib.loads(Path(config_file).read_text(encoding="utf-8")))
    for f in fields(Settings):
        raw = environ.get(PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = raw
    known = {f.name: f for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    for name, spec in known.items():
        if isinstance(spec.default, int) and name in values:
            try:
                values[name] = int(values[name])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"{PREFIX}{name.upper()} must be an integer, "
                                 f"not {values[name]!r}") from None
    return Settings(**values)  # type: ignore[arg-type]
