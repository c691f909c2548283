"""What the core needs to know about the bank it runs for."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.fx.rates import RateTable
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.iso.reader import MessageReader
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES
from bridge.payments.authorisation import Authority

DEFAULT_RATE_TOLERANCE_BPS = 50
"""How far a message's XchgRate may be from the rate table's, in basis points (0.5 %)."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """The bank's BIC, whom it takes instructions and statements from, its reply and return
    versions, its FX rate table (bridge.fx), and whether (and in which camt.054 version) it
    notifies settled operations."""

    issuer_bic: str | None = None
    allowed_senders: frozenset[str] | None = None  # None: anyone may instruct
    reply_versions: Mapping[str, str] = field(default_factory=dict)  # overrides, pacs.008 -> pacs.002
    statement_senders: frozenset[str] | None = None  # None: the issuer (bridge.payments.authorisation)
    max_message_bytes: int = DEFAULT_MAX_BYTES  # the largest input the bus reads
    return_versions: Mapping[str, str] = field(default_factory=dict)  # overrides, pacs.008 -> pacs.004
    return_on_cancellation: bool = False  # a camt.056 for a settled payment: returned (pacs.004), not refused
    corporate_senders: frozenset[str] = frozenset()  # corporate channels (pain.001); none: no corporate
    rates: RateTable = field(default_factory=RateTable)  # empty: every payment across currencies refused
    rate_tolerance_bps: int = DEFAULT_RATE_TOLERANCE_BPS

    def reader(self) -> MessageReader:
        """A reader with the bus's limits, for a handler that re-reads messages from the inbox
        (an original the bus accepted must read again)."""
        return MessageReader(max_bytes=self.max_message_bytes)
    timezone: str = "UTC"  # the bank's (IANA name): where its day starts (value dates, intraday reports)
    notifications: bool = True  # a camt.054 per account for each settled operation (bridge.notifications)
    notification_version: str = NOTIFICATION.default_version

    @property
    def authority(self) -> Authority:
        return Authority(self.issuer_bic, self.allowed_senders, self.statement_senders,
                         self.corporate_senders)
