"""The account registry: which customer accounts are tokenized, on which wallet, in which state.

Omnibus accounts are the bank's own reserve accounts (one per currency) backing the token supply
1:1; they have no wallet. An `institution` account is another bank's token wallet here (it funds
and defunds it with pacs.009); an `fx` account is the bank's FX position wallet in its currency
(one per currency), through which payment-versus-payment settles (bridge.fx): never a payment's
debtor or creditor by its account id. An account is found by its identification as banks compare it
(`find_registered`): the normalised identifier and, for an `Othr/Id`, its scheme and issuer.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bridge.money import CurrencyError, minor_units
from bridge.parties import CODE, PROPRIETARY, AccountId, issuer_name, normalised_account, scheme_name

ACTIVE, BLOCKED, CLOSED = "active", "blocked", "closed"
WALLET, OMNIBUS, INSTITUTION, FX = "wallet", "omnibus", "institution", "fx"
STATUSES = (ACTIVE, BLOCKED, CLOSED)
KINDS = (WALLET, OMNIBUS, INSTITUTION, FX)
WALLET_KINDS = (WALLET, INSTITUTION)
"""Kinds whose wallet pays and is paid by account id: a customer's, another bank's."""

LEDGER_BOOK_PREFIX = "issuance:"
"""Names the ledgers give their own books (`issuance:<CCY>`, bridge.ports.issuance_holder): a
wallet or account so named would let a payment move the token supply itself."""

ZERO_ADDRESS = "0x" + "0" * 40
"""The EVM ledger's own book: mints come from and burns go to the zero address."""

_SCHEME_CODE_MAX, _NAME_MAX = 4, 35  # ExternalAccountIdentification1Code, Max35Text
_GROUP_MAX = 256  # a channel id: an OrgId Othr/Id is Max256Text in the newest AppHdr

AccountLookup = Callable[[str], "RegisteredAccount | None"]
"""Registry lookup by normalised account identifier (AccountRegistry.get)."""


def is_ledger_book(name: str | None) -> bool:
    """True when `name` is one of the ledgers' own books, never a payment party's wallet."""
    if not name:
        return False
    folded = name.strip().lower()
    return folded.startswith(LEDGER_BOOK_PREFIX) or folded == ZERO_ADDRESS


@dataclass(frozen=True, slots=True)
class RegisteredAccount:
    """One registry row: account id (IBAN or other id) -> wallet, currency, status, kind."""

    account: str
    currency: str
    wallet: str | None
    status: str = ACTIVE
    kind: str = WALLET
    scheme: str | None = None  # an Othr/Id's scheme, `Cd:<CODE>` or `Prtry:<NAME>` (scheme_name)
    issuer: str | None = None  # an Othr/Id's issuer (issuer_name)
    group: str | None = None  # the customer the account belongs to: a corporate's channel id

    @property
    def is_wallet(self) -> bool:
        """A customer's or another bank's wallet: a payment's debtor or creditor."""
        return self.kind in WALLET_KINDS

    @property
    def is_fx_position(self) -> bool:
        """The bank's FX position wallet in its currency: moved only by PvP legs (bridge.fx)."""
        return self.kind == FX

    @property
    def is_ledger_book(self) -> bool:
        """The bank's reserve (omnibus) or a ledger book: never a payment's debtor or creditor."""
        return self.kind == OMNIBUS or is_ledger_book(self.wallet) or is_ledger_book(self.account)


def find_registered(account: AccountId | None, lookup: AccountLookup) -> RegisteredAccount | None:
    """The registry row an account identification names: the same identifier (normalised:
    no whitespace, upper case) and the same scheme and issuer, all of which must agree. An IBAN
    has neither, so it matches only a row without them; an `Othr/Id` written without scheme and
    issuer matches such a row too (an IBAN sent as a bare `Othr/Id` is that IBAN)."""
    key = account.key if account is not None else None
    if not key:
        return None
    found = lookup(key)
    if found is None:
        return None
    if account.iban:  # no scheme or issuer to fold: the row must have none either
        return found if found.scheme is None and found.issuer is None else None
    return found if (found.scheme, found.issuer) == (account.scheme_key, account.issuer_key) else None


def registry_scheme(text: str | None) -> str:
    """The CSV `scheme` column as stored: `Cd:<code>` or `Prtry:<name>` (scheme_name); '' when
    empty. ValueError when the kind is not said or the name is too long for its kind."""
    text = (text or "").strip()
    if not text:
        return ""
    kind, colon, name = text.partition(":")
    kinds = {CODE.lower(): CODE, PROPRIETARY.lower(): PROPRIETARY}
    if not colon or kind.strip().lower() not in kinds or not name.strip():
        raise ValueError(f"scheme {text!r} must say its kind: Cd:<code> or Prtry:<name>")
    kind = kinds[kind.strip().lower()]
    stored = scheme_name(name, proprietary=kind == PROPRIETARY) or ""
    limit = _SCHEME_CODE_MAX if kind == CODE else _NAME_MAX
    if len(stored) - len(kind) - 1 > limit:
        raise ValueError(f"scheme {text!r}: a {kind} has at most {limit} characters")
    return stored


class RegistryError(ValueError):
    """Registry rows that cannot be imported; lists every bad row (none is applied)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_registry_rows(rows: Iterable[Mapping[str, str | None]]) -> list[RegisteredAccount]:
    """Validate CSV-like rows (`account,currency,wallet,status,kind[,scheme,issuer,group]`; row 1 is
    the header). Identifiers are stored normalised, as they are compared (find_registered).

    All or nothing: raises RegistryError naming every bad row.
    """
    accounts: list[RegisteredAccount] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    omnibus: dict[str, int] = {}
    positions: dict[str, int] = {}  # currency -> line of its fx account
    for line, row in enumerate(rows, start=2):
        account = normalised_account(row.get("account") or "")
        currency = (row.get("currency") or "").strip().upper()
        wallet = (row.get("wallet") or "").strip() or None
        status = (row.get("status") or ACTIVE).strip().lower()
        kind = (row.get("kind") or WALLET).strip().lower()
        issuer = issuer_name(row.get("issuer"))
        group = " ".join((row.get("group") or "").split()) or None
        errors = []
        try:
            scheme = registry_scheme(row.get("scheme")) or None
        except ValueError as exc:
            scheme = None
            errors.append(str(exc))
        if not account:
            errors.append("account is empty")
        if issuer and len(issuer) > _NAME_MAX:
            errors.append(f"issuer has more than {_NAME_MAX} characters")
        if group and len(group) > _GROUP_MAX:
            errors.append(f"group has more than {_GROUP_MAX} characters")
        try:
            minor_units(currency)
        except CurrencyError as exc:
            errors.append(str(exc))
        if status not in STATUSES:
            errors.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
        if kind not in KINDS:
            errors.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind != OMNIBUS and not wallet:
            errors.append(f"{'an' if kind in (INSTITUTION, FX) else 'a'} {kind} account needs a wallet")
        if kind == OMNIBUS and wallet:
            errors.append("an omnibus account has no wallet")
        for what, name in (("wallet", wallet), ("account", account)):
            if is_ledger_book(name):
                errors.append(f"{what} {name!r} is a name the ledger keeps for its own books")
        if account in seen:
            errors.append(f"account repeats line {seen[account]}")
        if kind == OMNIBUS and currency in omnibus:
            errors.append(f"a second {currency} omnibus account (line {omnibus[currency]})")
        if kind == FX and currency in positions:
            errors.append(f"a second {currency} fx position account (line {positions[currency]})")
        if errors:
            problems.append(f"line {line}: " + ", ".join(errors))
            continue
        seen[account] = line
        if kind == OMNIBUS:
            omnibus[currency] = line
        if kind == FX:
            positions[currency] = line
        accounts.append(RegisteredAccount(account, currency, wallet, status, kind, scheme, issuer,
                                          group))
    if problems:
        raise RegistryError(problems)
    return accounts


def fx_positions(accounts: Iterable[RegisteredAccount]) -> dict[str, RegisteredAccount]:
    """The bank's FX position account of each currency (kind `fx`), by currency."""
    return {a.currency: a for a in accounts if a.kind == FX}
