"""A camt.053 of the ledger, in a unit of work: whose statement an account id or a currency
names (from the registry), and the statement of it for a period, with the ledger's figures at
its start and end. `tokenbridge statement` writes it; a scheduler runs that for end of day.
The same with `interim` is the camt.052 intraday report, from the start of the bank's day.
"""
from __future__ import annotations

from datetime import datetime, time, timezone, tzinfo

from bridge.accounts import OMNIBUS
from bridge.ports import AccountRegistry, UnitOfWork
from bridge.reconciliation.matching import ledger_figure
from bridge.statements import StatementMessage
from bridge.statements_out.journal import StatementSubject, account_id, journal_statement, supply_subject


class UnknownAccount(LookupError):
    """A statement was asked of an account the registry does not hold."""


class NoTokenInCurrency(UnknownAccount):
    """A supply statement was asked of a currency no registered account is in: the bank has no
    token in it, so its statement would be empty whatever the period."""


def statement_subject(registry: AccountRegistry, *, account: str | None = None,
                      currency: str | None = None) -> StatementSubject:
    """Whose statement: a registered account's (an omnibus account's is the supply statement
    of its currency), or the token supply of `currency` (under its omnibus account's id when
    one is registered). Name exactly one of them; UnknownAccount for an unregistered account,
    NoTokenInCurrency for a currency no registered account is in."""
    if account is not None:
        found = registry.get(account)  # normalised by the registry
        if found is None:
            raise UnknownAccount(f"account {account} is not in the registry")
        if found.kind == OMNIBUS:
            return supply_subject(found.currency, found)
        return StatementSubject(account_id(found), found.currency, found.wallet)
    if currency is None:
        raise ValueError("name an account or a currency")
    ccy = currency.upper()
    accounts = [a for a in registry.all() if a.currency == ccy]
    if not accounts:
        raise NoTokenInCurrency(f"the bank has no {ccy} token: no account in the registry is in "
                                f"{ccy}, so there is no {ccy} supply to state")
    omnibus = next((a for a in accounts if a.kind == OMNIBUS), None)
    return supply_subject(ccy, omnibus)


def intraday(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """An intraday report's period, in UTC: from the start of today in the bank's time zone
    (`zone`) to `now`."""
    local = now.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    return start.astimezone(timezone.utc), now.astimezone(timezone.utc)


def ledger_statement(uow: UnitOfWork, subject: StatementSubject, *, start: datetime, end: datetime,
                     message_id: str, created_at: datetime,
                     servicer_bic: str | None = None, interim: bool = False) -> StatementMessage:
    """The camt.053 of `subject` for [start, end) from the ledger journal: OPBD and CLBD are the
    supply (or the wallet's balance) at start and end, one entry per posting; the wallets on
    the other side are named with their registered accounts. `interim`: the camt.052 intraday
    report up to `end` (now), its balance there interim (ITBD)."""
    if subject.is_supply:
        postings = uow.ledger.journal(currency=subject.currency, start=start, end=end)
    else:
        postings = uow.ledger.journal(wallet=subject.wallet, currency=subject.currency,
                                      start=start, end=end)
    opening, closing = (ledger_figure(uow.ledger, subject.currency, subject.wallet, moment)
                        for moment in (start, end))
    return journal_statement(
        subject, postings, opening=opening, closing=closing, start=start, end=end,
        message_id=message_id, created_at=created_at,
        accounts_by_wallet={a.wallet: a for a in uow.accounts.all() if a.wallet},
        servicer_bic=servicer_bic, interim=interim)
