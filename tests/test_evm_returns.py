"""Returns on the EVM ledger (anvil): the sample payments and then the sample returns
(samples/pacs004: a mint burnt back in part, a transfer back, a burn minted back, one refused)
end equal on the SQL and on the EVM ledger, and the contracts agree; each reversal is an
operation of its own key, ACSP until mined, then ACSC."""
from __future__ import annotations

import pytest
from conftest import start_anvil
from test_evm_replay import SAMPLES, address_of, evm_bank, import_registry, outcome_summary

from adapters.bootstrap import build_bus
from adapters.config import Settings
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore

pytestmark = pytest.mark.slow  # anvil

MESSAGES = sorted((SAMPLES / "pacs008").glob("*.xml")) + sorted((SAMPLES / "pacs004").glob("*.xml"))
RETURNS = len(list((SAMPLES / "pacs004").glob("*.xml")))


@pytest.fixture(scope="module")
def anvil():
    node = start_anvil()
    yield node
    node.stop()


def _figures(store, names=None) -> tuple[dict, dict]:
    with store() as uow:
        balances = {((names or {}).get(b.wallet, b.wallet), b.currency): b.balance
                    for b in uow.ledger.balances() if b.balance}
        return balances, {c: v for c, v in uow.ledger.supply().items() if v}


def test_the_sample_returns_end_equal_on_the_sql_and_the_evm_ledger(anvil, tmp_path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'sql.db'}")
    migrate(engine)
    sql = SqlStore(engine, SqlLedgerPlugin())
    import_registry(sql, SAMPLES / "accounts.csv")
    sql_bus = build_bus(Settings(), sql)
    expected = [outcome_summary(sql_bus.handle(path.read_bytes())) for path in MESSAGES]
    expected_figures = _figures(sql)
    engine.dispose()
    assert expected[-RETURNS:] == [[("accepted", None)]] * (RETURNS - 1) + [[("RJCT", "AM09")]]

    settings, plugin, store, contracts, names = evm_bank(anvil, tmp_path)
    bus, settler = build_bus(settings, store), plugin.settler(store)
    summaries, final = [], {}
    for path in MESSAGES:
        outcome = bus.handle(path.read_bytes())
        summaries.append(outcome_summary(outcome))
        assert {t.status for t in outcome.transactions} <= {"ACSP", "RJCT"}
        for change in settler.settle():
            final[change.key] = change.new_status
    assert summaries == expected
    returned = {key for key in final if key.startswith("return:")}
    assert len(returned) == RETURNS - 1 and {final[k] for k in returned} == {"ACSC"}
    assert _figures(store, names) == expected_figures
    balances, supply = expected_figures
    chain = plugin.chain
    assert {c: chain.token_call(contracts[c], "totalSupply") for c in supply} == supply
    assert {(w, c): chain.token_call(contracts[c], "balanceOf", address_of(w)) for (w, c) in balances} == balances
    # Replayed: the inbox answers, the chain is untouched.
    assert all(bus.handle(p.read_bytes()).seen_before for p in MESSAGES[-RETURNS:])
    assert settler.settle() == []
    store.engine.dispose()
