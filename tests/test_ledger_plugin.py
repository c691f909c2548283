"""The ledger plugin seam (bridge.ports): a plugin is given the store's transaction, not a SQL
connection; a ledger that keeps its books elsewhere joins the unit of work by its commit
hooks; optional capabilities are protocols, found with isinstance."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from adapters import bootstrap
from adapters.config import Settings
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from adapters.sql.transaction import NotTheSqlStore, sql_connection
from bridge.messages import OutboundMessage
from bridge.operations import MINT, PaymentRefs, TokenOperation
from bridge.ports import (
    APPLIED,
    Ledger,
    LedgerDescription,
    LedgerOutcome,
    LedgerPlugin,
    LedgerSetUp,
    MintClaim,
    PaymentClaim,
    RecordedOperation,
    SettlingLedger,
    StoreTransaction,
    TransactionalStore,
)
from bridge.settlement.changes import SettlementChange


class BookedElsewhere(Ledger):
    """A ledger whose books are not in the store (a dict here; a core banking system in life):
    what a unit applies is held until the store commits."""

    def __init__(self, books: dict[str, TokenOperation], transaction: StoreTransaction,
                 heard: list[str]) -> None:
        self.books = books
        self.held: dict[str, TokenOperation] = {}
        transaction.before_commit(lambda: heard.append(f"prepare {sorted(self.held)}"))
        transaction.after_commit(self._book)
        transaction.after_rollback(lambda: heard.append(f"release {sorted(self.held)}"))

    def _book(self) -> None:
        self.books.update(self.held)

    def apply(self, operation: TokenOperation, claim: MintClaim | None = None) -> LedgerOutcome:
        self.held[operation.key] = operation
        return LedgerOutcome(APPLIED)

    def find(self, key: str) -> RecordedOperation | None:
        found = self.books.get(key)
        return None if found is None else RecordedOperation(found, 1, datetime.now(UTC))

    def find_claims(self, references: Sequence[str]) -> list[PaymentClaim]:
        return []

    def balances(self, as_of=None):
        return []

    def supply(self, as_of=None):
        return {}

    def journal(self, **_):
        return []


class ElsewherePlugin:
    """A third party's plugin: no SQLAlchemy anywhere."""

    def __init__(self) -> None:
        self.books: dict[str, TokenOperation] = {}
        self.heard: list[str] = []

    def ledger_for(self, transaction: StoreTransaction) -> Ledger:
        return BookedElsewhere(self.books, transaction, self.heard)


def mint(key: str) -> TokenOperation:
    return TokenOperation(key, MINT, "EUR", 100, credit_wallet="w-alice", refs=PaymentRefs())


@pytest.fixture()
def engine(sqlite_url):
    engine = create_store_engine(sqlite_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_the_plugins_capabilities_are_protocols() -> None:
    sql, evm = SqlLedgerPlugin(), EvmLedgerPlugin(Settings(ledger="evm"))
    assert isinstance(sql, LedgerPlugin) and isinstance(evm, LedgerPlugin)
    assert isinstance(ElsewherePlugin(), LedgerPlugin) and not isinstance(object(), LedgerPlugin)
    for capability in (SettlingLedger, LedgerSetUp, LedgerDescription):
        assert isinstance(evm, capability) and not isinstance(sql, capability)


def test_a_ledger_booked_elsewhere_commits_with_the_unit_of_work(engine) -> None:
    plugin = ElsewherePlugin()
    store = SqlStore(engine, plugin)
    with store() as uow:
        uow.ledger.apply(mint("k-1"))
        uow.outbox.add(OutboundMessage("M-1", None, "pacs.002.001.10", b"<Document/>"))
        uow.commit()
    assert set(plugin.books) == {"k-1"} and plugin.heard == ["prepare ['k-1']"]
    with store() as uow:
        uow.ledger.apply(mint("k-2"))  # left without commit
    assert set(plugin.books) == {"k-1"} and plugin.heard[-1] == "release ['k-2']"
    with store() as uow:
        assert uow.outbox.get("M-1") is not None and uow.ledger.find("k-1") is not None


def test_a_failing_hook_before_the_commit_rolls_the_unit_back(engine) -> None:
    class Refusing(ElsewherePlugin):
        def ledger_for(self, transaction: StoreTransaction) -> Ledger:
            transaction.before_commit(self._refuse)
            return super().ledger_for(transaction)

        def _refuse(self) -> None:
            raise RuntimeError("the core banking system said no")

    plugin = Refusing()
    store = SqlStore(engine, plugin)
    with pytest.raises(RuntimeError, match="said no"), store() as uow:
        uow.ledger.apply(mint("k-1"))
        uow.outbox.add(OutboundMessage("M-1", None, "pacs.002.001.10", b"<Document/>"))
        uow.commit()
    assert plugin.books == {} and plugin.heard == ["release ['k-1']"]
    with store() as uow:
        assert uow.outbox.get("M-1") is None


def test_a_ledger_in_the_sql_store_needs_the_sql_stores_transaction() -> None:
    class OtherStoresTransaction:
        def before_commit(self, hook) -> None: ...
        def after_commit(self, hook) -> None: ...
        def after_rollback(self, hook) -> None: ...

    with pytest.raises(NotTheSqlStore, match="OtherStoresTransaction"):
        SqlLedgerPlugin().ledger_for(OtherStoresTransaction())
    with pytest.raises(NotTheSqlStore):
        sql_connection(OtherStoresTransaction())


def test_the_worker_settles_only_for_a_settling_ledger(engine) -> None:
    settings = Settings()
    sql = SqlStore(engine, SqlLedgerPlugin())
    assert bootstrap.settlement_round(sql, bootstrap.build_bus(settings, sql)) is None

    class Settlement:
        on_changes = None

        def settle(self) -> list[SettlementChange]:
            return []

        def pending(self) -> int:
            return 0

    class SettlingElsewhere(ElsewherePlugin):
        def __init__(self) -> None:
            super().__init__()
            self.settlement = Settlement()

        def settler(self, store: TransactionalStore) -> Settlement:
            return self.settlement

    plugin = SettlingElsewhere()
    store = SqlStore(engine, plugin)
    settle = bootstrap.settlement_round(store, bootstrap.build_bus(settings, store))
    assert settle is not None and settle() == [] and plugin.settlement.on_changes is not None


def test_an_entry_point_that_is_no_ledger_plugin_is_refused(monkeypatch) -> None:
    entry = SimpleNamespace(name="odd", value="odd_bank:Plugin", load=lambda: lambda settings: object())
    monkeypatch.setattr(bootstrap, "entry_points", lambda group: [entry])
    with pytest.raises(bootstrap.ConfigurationError, match="not a bridge.ports.LedgerPlugin"):
        bootstrap.ledger_plugin(Settings(ledger="odd"))
