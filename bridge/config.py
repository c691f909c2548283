"""What the core needs to know about the bank it runs for."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.fx.rates import RateTable
from bridge.payments.authorisation import Authority

DEFAULT_RATE_TOLERANCE_BPS = 50
"""How far a message's XchgRate may be from the rate table's, in basis points (0.5 %)."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """The bank's BIC, whom it takes instructions and statements from, its reply versions, and
    its FX rate table (bridge.fx)."""

    issuer_bic: str | None = None
    allowed_senders: frozenset[str] | None = None  # None: anyone may instruct
    reply_versions: Mapping[str, str] = field(default_factory=dict)  # overrides, pacs.008 -> pacs.002
    statement_senders: frozenset[str] | None = None  # None: the issuer (bridge.payments.authorisation)
    rates: RateTable = field(default_factory=RateTable)  # empty: every payment across currencies refused
    rate_tolerance_bps: int = DEFAULT_RATE_TOLERANCE_BPS

    @property
    def authority(self) -> Authority:
        return Authority(self.issuer_bic, self.allowed_senders, self.statement_senders)
