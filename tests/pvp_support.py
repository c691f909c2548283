"""What the PvP and pacs.009 tests share: a registry with USD and EUR wallets, the bank's FX
positions and another bank's institution wallet; a rate table; a clock; the pipeline."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from lxml import etree

from bridge.accounts import RegisteredAccount
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.fx.rates import parse_rate_csv
from bridge.iso.reader import MessageReader

ISSUER = "TOKNDEFFXXX"
BUYER, SUPPLIER, SUPPLIER_USD = "DE10500199000777000001", "DE80500199000777000002", "DE53500199000777000003"
FX_USD, FX_EUR = "DE26500199000777000004", "DE96500199000777000005"
BANK_B = "DE69500199000777000006"  # another bank's EUR token wallet here
FATIMA = "FR7630004008280001058392658"  # not tokenized here
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RATES = ("base,quote,rate,valid_from,valid_until,spread_bps\n"
         "USD,EUR,0.92,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z,0\n"
         "USD,SGD,1.3456789,2026-11-24T00:00:00+08:00,2026-11-25T00:00:00+08:00,25\n")

FX_ACCOUNTS = [
    RegisteredAccount(BUYER, "USD", "w-buyer"),
    RegisteredAccount(SUPPLIER, "EUR", "w-supplier"),
    RegisteredAccount(SUPPLIER_USD, "USD", "w-supplier-usd"),
    RegisteredAccount(FX_USD, "USD", "fx-usd", kind="fx"),
    RegisteredAccount(FX_EUR, "EUR", "fx-eur", kind="fx"),
    RegisteredAccount(BANK_B, "EUR", "w-bankb", kind="institution"),
]


def with_fx_accounts(store):
    with store() as uow:
        uow.accounts.upsert(FX_ACCOUNTS)
        uow.commit()
    return store


class Clock:
    """A clock the test moves (rate validity without waiting)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def pipeline(store, clock: Clock | None = None, rates: str = RATES, **config) -> MessageBus:
    config.setdefault("issuer_bic", ISSUER)
    return MessageBus(MessageReader(), store, BridgeConfig(rates=parse_rate_csv(rates), **config),
                      is_transient=store.is_transient, clock=clock or Clock())


def state(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances() if b.balance},
                uow.ledger.supply())


def reply_transactions(body: bytes) -> list[tuple[str | None, str | None, str | None]]:
    """(TxSts, reason code, AddtlInf) of each TxInfAndSts of a pacs.002."""
    root = etree.fromstring(body)
    document = root if root.tag.endswith("Document") else next(e for e in root if e.tag.endswith("Document"))
    ns = etree.QName(document).namespace
    return [(t.findtext(f"{{{ns}}}TxSts"), t.findtext(f"{{{ns}}}StsRsnInf/{{{ns}}}Rsn/{{{ns}}}Cd"),
             t.findtext(f"{{{ns}}}StsRsnInf/{{{ns}}}AddtlInf"))
            for t in document.iter(f"{{{ns}}}TxInfAndSts")]


def units(text: str) -> int:
    return int(Decimal(text) * 100)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def fx_store(request):
    """The sample registry and the FX accounts, on the fake, SQLite and PostgreSQL."""
    from conftest import seeded_store
    if request.param == "memory":
        yield with_fx_accounts(request.getfixturevalue("memory_registry"))
        return
    store = seeded_store(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))
    yield with_fx_accounts(store)
    store.engine.dispose()
