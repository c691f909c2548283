"""The account registry: which customer accounts are tokenized, on which wallet, in which state.

Omnibus accounts are the bank's own reserve accounts (one per currency) backing the token supply
1:1; they have no wallet.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.money import CurrencyError, minor_units

ACTIVE, BLOCKED, CLOSED = "active", "blocked", "closed"
WALLET, OMNIBUS = "wallet", "omnibus"
STATUSES = (ACTIVE, BLOCKED, CLOSED)
KINDS = (WALLET, OMNIBUS)


@dataclass(frozen=True, slots=True)
class RegisteredAccount:
    """One registry row: account id (IBAN or other id) -> wallet, currency, status, kind."""

    account: str
    currency: str
    wallet: str | None
    status: str = ACTIVE
    kind: str = WALLET

    @property
    def is_wallet(self) -> bool:
        return self.kind == WALLET


class RegistryError(ValueError):
    """Registry rows that cannot be imported; lists every bad row (none is applied)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_registry_rows(rows: Iterable[Mapping[str, str | None]]) -> list[RegisteredAccount]:
    """Validate CSV-like rows (`account,currency,wallet,status,kind`; row 1 is the header).

    All or nothing: raises RegistryError naming every bad row.
    """
    accounts: list[RegisteredAccount] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    omnibus: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        account = (row.get("account") or "").replace(" ", "").strip()
        currency = (row.get("currency") or "").strip().upper()
        wallet = (row.get("wallet") or "").strip() or None
        status = (row.get("status") or ACTIVE).strip().lower()
        kind = (row.get("kind") or WALLET).strip().lower()
        errors = []
        if not account:
            errors.append("account is empty")
        try:
            minor_units(currency)
        except CurrencyError as exc:
            errors.append(str(exc))
        if status not in STATUSES:
            errors.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
        if kind not in KINDS:
            errors.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind == WALLET and not wallet:
            errors.append("a wallet account needs a wallet")
        if kind == OMNIBUS and wallet:
            errors.append("an omnibus account has no wallet")
        if account in seen:
            errors.append(f"account repeats line {seen[account]}")
        if kind == OMNIBUS and currency in omnibus:
            errors.append(f"a second {currency} omnibus account (line {omnibus[currency]})")
        if errors:
            problems.append(f"line {line}: " + ", ".join(errors))
            continue
        seen[account] = line
        if kind == OMNIBUS:
            omnibus[currency] = line
        accounts.append(RegisteredAccount(account, currency, wallet, status, kind))
    if problems:
        raise RegistryError(problems)
    return accounts
