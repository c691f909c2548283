"""Who pays whom: account identifications, parties and agents, as ISO 20022 names them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountId:
    """An account identification: an IBAN, or an `Othr/Id` with its scheme (code or proprietary)."""

    iban: str | None = None
    other: str | None = None
    scheme: str | None = None

    @property
    def key(self) -> str:
        """The identifier a registry looks the account up by (IBAN, else the other id)."""
        return self.iban or self.other or ""

    def __str__(self) -> str:
        if self.iban:
            return self.iban
        return f"{self.other} ({self.scheme})" if self.scheme else str(self.other)


@dataclass(frozen=True, slots=True)
class Agent:
    """A financial institution: BIC (BIC or BICFI, by version) and/or clearing-system member id."""

    bic: str | None = None
    member_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """A debtor or creditor (ultimate or not): name and, where given, the account."""

    name: str | None = None
    account: AccountId | None = None
