"""Who pays whom: account identifications, parties and agents, as ISO 20022 names them."""
from __future__ import annotations

from dataclasses import dataclass


CODE, PROPRIETARY = "Cd", "Prtry"
"""The two kinds of `SchmeNm`: a code of the ISO external code list, or a proprietary name.
A code and a proprietary name spelled alike are different schemes."""


def normalised_account(identifier: str) -> str:
    """An account identifier as banks compare it: without any whitespace, in upper case (an
    IBAN is written in groups of four and case-insensitively; the registry refuses two ids that
    differ only so, so folding them can never confuse two accounts of ours)."""
    return "".join(identifier.split()).upper()


def _folded(text: str | None) -> str | None:
    """Free text compared as a name: outer whitespace dropped, inner runs as one space, upper
    case (typography carries no meaning in a scheme or issuer name)."""
    folded = " ".join((text or "").split()).upper()
    return folded or None


def scheme_name(scheme: str | None, proprietary: bool) -> str | None:
    """A scheme as it is compared and stored: `Cd:<CODE>` or `Prtry:<NAME>`, or None."""
    name = _folded(scheme)
    return f"{PROPRIETARY if proprietary else CODE}:{name}" if name else None


def issuer_name(issuer: str | None) -> str | None:
    """An `Othr/Issr` as it is compared and stored, or None."""
    return _folded(issuer)


@dataclass(frozen=True, slots=True)
class AccountId:
    """An account identification: an IBAN, or an `Othr/Id` with its scheme (code or
    proprietary) and issuer."""

    iban: str | None = None
    other: str | None = None
    scheme: str | None = None  # SchmeNm/Cd or SchmeNm/Prtry, as written
    proprietary: bool = False  # the scheme is SchmeNm/Prtry (else a SchmeNm/Cd code)
    issuer: str | None = None  # Othr/Issr, as written

    @property
    def key(self) -> str:
        """The identifier a registry looks the account up by (IBAN, else the other id),
        normalised (`normalised_account`)."""
        return normalised_account(self.iban or self.other or "")

    @property
    def scheme_key(self) -> str | None:
        """The scheme as compared with the registry's (`scheme_name`); an IBAN has none."""
        return None if self.iban else scheme_name(self.scheme, self.proprietary)

    @property
    def issuer_key(self) -> str | None:
        """The issuer as compared with the registry's (`issuer_name`); an IBAN has none."""
        return None if self.iban else issuer_name(self.issuer)

    def __str__(self) -> str:
        if self.iban:
            return self.iban
        qualifiers = [q for q in (self.scheme_key, self.issuer and f"Issr:{self.issuer}") if q]
        return f"{self.other} ({', '.join(qualifiers)})" if qualifiers else str(self.other)


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
