"""The operations API on the EVM ledger (an in-process chain, eth-tester): a payment ACSP until
the chain settles it, then ACSC with its follow-up in the timeline; the settlement backlog in
health; balances over time from the chain's journal; a wallet (an address) searched."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from fastapi.testclient import TestClient

from adapters.bootstrap import build_bus
from adapters.config import Settings
from adapters.evm.devchain import TesterChain
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.http.app import create_app
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from console_support import MINT_UETR, SAMPLES, bearer, console, tokens
from ledger_contract import ManualClock
from test_evm_replay import address_of, evm_accounts_csv, import_registry


def test_the_console_api_on_the_evm_ledger(tmp_path) -> None:
    chain = TesterChain()
    issuer = Account.create()
    chain.fund(issuer.address)
    clock = ManualClock(datetime.fromtimestamp(chain.latest_timestamp() + 3600, UTC), timedelta(minutes=1))
    settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR,JPY,KWD")
    plugin = EvmLedgerPlugin(settings, web3=chain.web3, clock=clock)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'evm.db'}")
    migrate(engine)
    store = SqlStore(engine, plugin, clock=clock)
    plugin.initialise(store)
    import_registry(store, evm_accounts_csv(tmp_path / "accounts-evm.csv")[0])
    bus = build_bus(settings, store)
    bus.handle((SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml").read_bytes())
    secrets = tokens(store)
    headers = bearer(secrets["viewer"])
    with TestClient(create_app(console(store, ledger_name="evm"))) as client:
        [match] = client.get("/api/payments", params={"q": MINT_UETR}, headers=headers).json()["matches"]
        assert match["status"] == "ACSP"
        health = client.get("/api/health", headers=headers).json()
        assert health["settlement"] == {"ledger": "evm", "unfinal": 1, "unmined": 0}
        assert health["audit"]["intact"] is True

        plugin.settler(store).settle()  # the chain mines it; the settler confirms it
        [match] = client.get("/api/payments", params={"q": MINT_UETR}, headers=headers).json()["matches"]
        assert match["status"] == "ACSC"
        health = client.get("/api/health", params={"audit": "false"}, headers=headers).json()
        assert health["settlement"]["unfinal"] == 0
        alice = address_of("w-alice")
        by_wallet = client.get("/api/payments", params={"q": alice}, headers=headers).json()
        assert by_wallet["found_by"] == "wallet" and by_wallet["matches"][0]["credit_wallet"] == alice
        history = client.get("/api/balances/history", params={"currency": "EUR"}, headers=headers).json()
        assert history["supply"][-1][1] == "1250.00" and history["wallets"][alice][-1][1] == "1250.00"
