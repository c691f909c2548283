"""Configuration from the environment (TOKENBRIDGE_*), optionally from a TOML file first.

The file named by TOKENBRIDGE_CONFIG may set the same keys, lower-case without the prefix
(`database_url = "..."`); the environment wins over the file. Every value is checked when it
is loaded (`check`): a command with a bad setting stops before it connects to anything, with
one line naming the variable (never repeating a secret), not at the first message.
"""
from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.sql.urls import normalise_url
from bridge.config import DEFAULT_RATE_TOLERANCE_BPS
from bridge.fx.rates import RateTable, RateTableError, parse_rate_csv
from bridge.sweeps.rules import SweepRule, SweepRulesError, parse_sweep_rules
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.cancellations.handler import CANCELLATION_POLICIES
from bridge.iso.pacs002 import parse_reply_versions
from bridge.iso.pacs004_writer import parse_return_versions
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES

PREFIX = "TOKENBRIDGE_"

REAPPLY, FLAG = "reapply", "flag"
DEEP_REORG_POLICIES = (REAPPLY, FLAG)
"""An operation answered ACSC that a reorg deeper than the confirmations took off the chain is
alerted either way; `reapply` also puts it back on chain, `flag` leaves that to an operator."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///tokenbridge.db"
    issuer_bic: str | None = None
    allowed_senders: str | None = None  # comma-separated BICs; None = any
    statement_senders: str | None = None  # comma-separated BICs; None = the issuer (bridge.payments.authorisation)
    corporate_senders: str | None = None  # comma-separated corporate channel ids (pain.001); None = none
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    ledger: str = "sql"
    evm_url: str | None = None
    evm_key: str | None = None  # never logged, never printed
    evm_contracts: str | None = None  # "EUR=0x...[@block],JPY=0x...": adopt instead of deploying
    evm_currencies: str | None = None  # tokens `ledger init` deploys; default: the registry's
    evm_confirmations: int = 1  # blocks (the mined one included) before ACSP becomes ACSC
    evm_max_in_flight: int = 500  # submitted, unmined transactions at most
    evm_timeout_s: int = 10  # one JSON-RPC call at most (no retries: the next round is the retry)
    evm_deep_reorg: str = "reapply"  # an ACSC'd operation a deep reorg took off the chain: reapply, or flag
    evm_reorg_lookback: int = 256  # blocks back whose confirmed operations are checked every round
    max_message_bytes: int = DEFAULT_MAX_BYTES
    reply_versions: str | None = None  # "pacs.008.001.08=pacs.002.001.12,..." overrides
    cancellation_policy: str = "refuse"  # a camt.056 for a settled payment: refuse, or return (pacs.004)
    return_versions: str | None = None  # "pacs.008.001.08=pacs.004.001.10,...": returns we send
    amqp_prefix: str = "tokenbridge"  # names: <prefix>.in, <prefix>.out, <prefix>.dead, <prefix>.retry
    prefetch: int = 200
    batch_size: int = 100
    max_attempts: int = 7  # transient failures: first try + retries, then dead-letter
    metrics_port: int = 0  # Prometheus endpoint of the worker; 0 = off
    http_addr: str = "127.0.0.1:8080"  # HOST:PORT of `tokenbridge serve`
    rates: str | None = None  # FX rate table, a CSV file (bridge.fx.rates); none: no PvP
    rate_tolerance_bps: int = DEFAULT_RATE_TOLERANCE_BPS  # a message's XchgRate from the table's
    timezone: str = "UTC"  # IANA name: where the bank's day starts: value dates (holds), statement --intraday, sweeps' times
    holds_interval_s: int = 1  # how often the worker's scheduler looks for holds due (seconds)
    sweeps: str | None = None  # sweep rules, a TOML file (bridge.sweeps.rules); none: no sweeps
    sweeps_interval_s: int = 10  # how often the worker's scheduler runs the sweep rules (seconds)
    notifications: str = "on"  # on: a camt.054 per account for each settled operation; off: none
    notification_version: str = NOTIFICATION.default_version  # camt.054.001.01 to .14 (or 01 .. 14)

    @property
    def notifying(self) -> bool:
        return self.notifications.strip().lower() in _ON

    @property
    def allowed_sender_bics(self) -> frozenset[str] | None:
        return _bic_list(self.allowed_senders)

    @property
    def statement_sender_bics(self) -> frozenset[str] | None:
        return _bic_list(self.statement_senders)

    @property
    def corporate_channels(self) -> frozenset[str]:
        """The corporate channel ids that may send pain.001 (bridge.initiations.channels)."""
        return frozenset(c.strip() for c in (self.corporate_senders or "").split(",") if c.strip())

    def __repr__(self) -> str:  # keep the key out of any log line or traceback
        shown = {f.name: ("***" if f.name == "evm_key" and getattr(self, f.name) else getattr(self, f.name))
                 for f in fields(self)}
        return f"Settings({shown})"


_ON, _OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


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
        if name == "notifications" and isinstance(values.get(name), bool):  # TOML true/false
            values[name] = "on" if values[name] else "off"
        if isinstance(spec.default, int) and name in values:
            try:
                if isinstance(values[name], (bool, float)):  # TOML true or 1.5: not a count
                    raise ValueError
                values[name] = int(values[name])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"{PREFIX}{name.upper()} must be an integer, "
                                 f"not {values[name]!r}") from None
    settings = Settings(**values)  # type: ignore[arg-type]
    check(settings)
    return settings


_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", re.IGNORECASE)
_HEX_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_CONTRACT = re.compile(r"[A-Za-z]{3}=0x[0-9a-fA-F]{40}(@[0-9]+)?")
_NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_INTEGER_RANGES = {  # inclusive bounds; None: no upper bound
    "evm_confirmations": (1, None), "evm_max_in_flight": (1, None), "evm_timeout_s": (1, None),
    "evm_reorg_lookback": (1, None),
    "max_message_bytes": (1, None),
    "prefetch": (1, 65535),  # AMQP's prefetch count is 16 bits
    "batch_size": (1, None), "max_attempts": (1, None), "metrics_port": (0, 65535),
    "rate_tolerance_bps": (0, 10_000),
    "holds_interval_s": (1, None), "sweeps_interval_s": (1, None)}
_BIC_LISTS = ("allowed_senders", "statement_senders")


def check(settings: Settings) -> None:
    """Raise ValueError, one line naming the variable, for the first setting that is not usable."""
    def fail(name: str, problem: str) -> None:
        raise ValueError(f"{PREFIX}{name.upper()} {problem}")

    for f in fields(Settings):
        value = getattr(settings, f.name)
        expected = int if isinstance(f.default, int) else str
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            fail(f.name, f"must be {'a whole number' if expected is int else 'text'}, not {value!r}")
    for name, (low, high) in _INTEGER_RANGES.items():
        value = getattr(settings, name)
        if value < low or (high is not None and value > high):
            fail(name, f"must be from {low}{f' to {high}' if high is not None else ''}, not {value}")
    try:
        make_url(normalise_url(settings.database_url))
    except (ArgumentError, ValueError):  # the URL may hold a password: not repeated
        fail("database_url", "is not an SQLAlchemy database URL (dialect://user:password@host/name)")
    parts = [u.strip() for u in settings.amqp_url.split(",")]
    if not all(_url_with_host(u, ("amqp", "amqps")) for u in parts):
        fail("amqp_url", "must be amqp:// or amqps:// URLs with a host (several comma-separated)")
    if settings.evm_url and not _url_with_host(settings.evm_url, ("http", "https")):
        fail("evm_url", "must be the node's http:// or https:// JSON-RPC URL")
    if settings.evm_key and not _HEX_KEY.fullmatch(settings.evm_key.strip()):
        fail("evm_key", "is not a private key (64 hex digits)")  # never shown
    if settings.issuer_bic is not None and not _BIC.fullmatch(settings.issuer_bic.strip()):
        fail("issuer_bic", f"is not a BIC (8 or 11 characters), not {settings.issuer_bic!r}")
    for name in _BIC_LISTS:
        listed = getattr(settings, name, None)
        if listed is None:
            continue
        items = [b.strip() for b in listed.split(",") if b.strip()]
        bad = [b for b in items if not _BIC.fullmatch(b)]
        if bad:
            fail(name, f"must list BICs separated by commas; not a BIC: {bad[0]!r}")
    for item in (settings.evm_contracts or "").split(","):
        if item.strip() and not _CONTRACT.fullmatch(item.strip()):
            fail("evm_contracts", f"item {item.strip()!r} is not CURRENCY=0xADDRESS[@BLOCK]")
    for item in (settings.evm_currencies or "").split(","):
        if item.strip() and not re.fullmatch(r"[A-Za-z]{3}", item.strip()):
            fail("evm_currencies", f"item {item.strip()!r} is not a currency code")
    if settings.evm_deep_reorg not in DEEP_REORG_POLICIES:
        fail("evm_deep_reorg", f"must be one of {', '.join(DEEP_REORG_POLICIES)}, "
                               f"not {settings.evm_deep_reorg!r}")
    if not _NAME.fullmatch(settings.amqp_prefix):
        fail("amqp_prefix", "must be 1 to 200 letters, digits or . _ : -")
    if settings.notifications.strip().lower() not in _ON + _OFF:
        fail("notifications", f"must be on or off, not {settings.notifications!r}")
    try:
        NOTIFICATION.version(settings.notification_version)
    except ValueError as error:
        fail("notification_version", str(error))
    try:
        zoneinfo.ZoneInfo(settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("timezone", f"is not an IANA time zone (Europe/Berlin, UTC), not {settings.timezone!r}")
    if settings.cancellation_policy not in CANCELLATION_POLICIES:
        fail("cancellation_policy", f"must be one of {', '.join(CANCELLATION_POLICIES)}, "
                                    f"not {settings.cancellation_policy!r}")
    if http_address(settings.http_addr) is None:
        fail("http_addr", f"must be HOST:PORT (a port from 1 to 65535), not {settings.http_addr!r}")
    if settings.reply_versions:
        try:
            parse_reply_versions(settings.reply_versions)
        except ValueError as error:
            fail("reply_versions", str(error))
    if settings.return_versions:
        try:
            parse_return_versions(settings.return_versions)
        except ValueError as error:
            fail("return_versions", str(error))
    if settings.rates:
        try:
            load_rates(settings.rates)
        except (OSError, RateTableError) as error:
            fail("rates", f"is not a usable rate table: {error}")
    if settings.sweeps:
        try:
            load_sweeps(settings.sweeps)
        except (OSError, UnicodeDecodeError, SweepRulesError) as error:
            fail("sweeps", f"{settings.sweeps}: {error}")


def http_address(text: str) -> tuple[str, int] | None:
    """HOST:PORT (an IPv6 host in brackets) as (host, port); None when it is not one."""
    host, _, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def load_rates(path: str | None) -> RateTable:
    """The FX rate table in the CSV file at `path` (an empty table without one)."""
    if not path:
        return RateTable()
    return parse_rate_csv(Path(path).read_text(encoding="utf-8-sig"))


def load_sweeps(path: str | None) -> list[SweepRule]:
    """The sweep rules in the TOML file at `path` (none without one)."""
    if not path:
        return []
    return parse_sweep_rules(Path(path).read_text(encoding="utf-8"))


def _url_with_host(url: str, schemes: tuple[str, ...] | None) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return bool(parts.scheme and parts.hostname) and (schemes is None or parts.scheme in schemes)
