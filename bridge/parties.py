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


def institution_bic(bic: str | None) -> str | None:
    """A BIC as an institution is named: upper case, without spaces, and BIC11 `XXX` (the
    primary office) written as its BIC8, since the two name the same institution."""
    if not bic:
        return None
    bic = bic.replace(" ", "").upper()
    return bic[:8] if len(bic) == 11 and bic.endswith("XXX") else bic


def same_institution(a: str | None, b: str | None) -> bool:
    """True when two BICs name the same bank: the same BIC8 (party, country and location);
    a branch code names an office of that bank, not another bank."""
    a, b = institution_bic(a), institution_bic(b)
    return bool(a and b) and a[:8] == b[:8]


def bic_listed(bic: str | None, listed: frozenset[str] | set[str]) -> bool:
    """True when `bic` is named by a list of BICs: a listed BIC8 (or BIC11 `XXX`) covers every
    office of that bank; a listed BIC11 with a branch code covers that branch only."""
    found = institution_bic(bic)
    if not found:
        return False
    names = {institution_bic(entry) for entry in listed}
    return found in names or found[:8] in names
