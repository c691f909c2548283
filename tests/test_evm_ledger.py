"""The EVM ledger against the Ledger contract and through its state machine, on an in-process
chain (eth-tester/py-evm) and on a real node (anvil), each with SQLite and PostgreSQL stores.

The contract suite names wallets (w-alice); on EVM a wallet is an address, so a test-only
wrapper maps each name to a deterministic address. Committing a unit of work here also settles
it on chain, as the worker does after each batch.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import start_anvil
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from ledger_contract import (
    ALICE,
    BRUNO,
    LedgerContract,
    ManualClock,
    burn,
    mint,
    transfer,
)
from sqlalchemy import select, update

from adapters.config import Settings
from adapters.evm.book import StatusChange
from adapters.evm.devchain import TesterChain
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.evm.settlement.verdicts import MAX_ATTEMPTS
from adapters.evm.tables import evm_available, evm_operations
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.operations import BURN, MINT, TRANSFER, TokenOperation
from bridge.ports import (
    APPLIED,
    REPLAYED,
    Ledger,
    Posting,
    RecordedOperation,
    StoreTransaction,
    WalletBalance,
)


def address_of(name: str) -> str:
    """A deterministic address for a test wallet name."""
    return to_checksum_address(keccak(text=f"tokenbridge-test:{name}")[-20:])


# -- chains ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def anvil():
    """One anvil for the session; every test deploys its own tokens with its own issuer key."""
    node = start_anvil()
    yield node
    node.stop()


@pytest.fixture(params=["eth-tester", pytest.param("anvil", marks=pytest.mark.slow)])
def devchain(request):
    if request.param == "eth-tester":
        return TesterChain()
    return request.getfixturevalue("anvil")


class Bridge:
    """A store, an EVM ledger plugin on a fresh issuer key and fresh tokens, and its settler."""

    def __init__(self, devchain, store_url: str, clock, confirmations: int = 1,
                 currencies: str = "EUR,JPY,KWD", key: str | None = None,
                 engine=None, web3=None, **settings) -> None:
        self.devchain = devchain
        self.clock = clock
        issuer = Account.from_key(key) if key else Account.create()
        self.key = issuer.key.hex()
        devchain.fund(issuer.address)
        self.settings = Settings(ledger="evm", evm_key=self.key, evm_currencies=currencies,
                                 evm_confirmations=confirmations, **settings)
        self.plugin = EvmLedgerPlugin(self.settings, web3=web3 or devchain.web3, clock=clock)
        self.engine = engine or create_store_engine(store_url)
        if engine is None:
            migrate(self.engine)
            self.init = self.plugin.initialise(self.store())
        self.settler = self.plugin.settler(self.store())
        self.changes: list[StatusChange] = []

    def store(self) -> SqlStore:
        return SqlStore(self.engine, self.plugin, clock=self.clock)

    def apply(self, *ops: TokenOperation):
        with self.store()() as uow:
            outcomes = [uow.ledger.apply(op) for op in ops]
            uow.commit()
        return outcomes

    def settle(self, rounds: int = 20) -> list[StatusChange]:
        """Settle until nothing is pending (mining empty blocks for confirmations)."""
        found: list[StatusChange] = []
        for _ in range(rounds):
            found += self.settler.settle()
            if not self.settler.pending():
                break
            self.devchain.mine()
        self.changes += found
        return found

    def status(self, key: str) -> str | None:
        with self.store()() as uow:
            recorded = uow.ledger.find(key)
        return recorded.status if recorded else None

    def row(self, key: str):
        with self.engine.connect() as connection:
            return connection.execute(select(evm_operations).where(evm_operations.c.key == key)).one()

    def token(self, currency: str) -> str:
        return self.plugin.contracts(self.engine)[currency]

    def on_chain(self, currency: str, function: str, *args) -> int:
        return int(self.plugin.chain.token_call(self.token(currency), function, *args))


def evm_mint(amount: int, to: str, currency: str = "EUR", key: str | None = None) -> TokenOperation:
    return mint(amount, to, currency, key)


# -- the Ledger contract -----------------------------------------------------------------------

class NamedWallets(Ledger):
    """Test-only: the contract suite's wallet names as deterministic addresses, both ways."""

    name = "evm"

    def __init__(self, inner: Ledger) -> None:
        self.inner = inner
        self.names: dict[str, str] = {}

    def _to(self, wallet: str | None) -> str | None:
        if wallet is None or wallet.startswith("issuance:"):
            return wallet
        address = address_of(wallet)
        self.names[address] = wallet
        return address

    def _from(self, holder: str) -> str:
        from ledger_contract import ALICE, BRUNO, CHIYO
        for name in (ALICE, BRUNO, CHIYO, "w-nobody"):
            self.names.setdefault(address_of(name), name)
        return self.names.get(holder, holder)

    def _op_to(self, op: TokenOperation) -> TokenOperation:
        return TokenOperation(op.key, op.kind, op.currency, op.amount, self._to(op.debit_wallet),
                              self._to(op.credit_wallet), op.refs)

    def _op_from(self, op: TokenOperation) -> TokenOperation:
        return TokenOperation(op.key, op.kind, op.currency, op.amount,
                              self._from(op.debit_wallet) if op.debit_wallet else None,
                              self._from(op.credit_wallet) if op.credit_wallet else None, op.refs)

    def apply(self, operation, claim=None):
        return self.inner.apply(self._op_to(operation), claim)

    def find_claims(self, references):
        return self.inner.find_claims(references)

    def find(self, key):
        found = self.inner.find(key)
        return None if found is None else RecordedOperation(
            self._op_from(found.operation), found.sequence, found.applied_at, found.status)

    def balances(self, as_of=None):
        return [WalletBalance(self._from(b.wallet), b.currency, b.balance)
                for b in self.inner.balances(as_of=as_of)]

    def supply(self, as_of=None):
        return self.inner.supply(as_of=as_of)

    def journal(self, *, wallet=None, currency=None, start=None, end=None):
        return [Posting(p.sequence, p.operation_key, p.kind, self._from(p.holder),
                        self._from(p.counterparty), p.currency, p.amount, p.posted_at, p.refs)
                for p in self.inner.journal(wallet=self._to(wallet), currency=currency,
                                            start=start, end=end)]


class NamedWalletsPlugin:
    """The EVM plugin, its ledgers speaking the contract suite's wallet names."""

    def __init__(self, plugin: EvmLedgerPlugin) -> None:
        self.plugin = plugin

    def ledger_for(self, transaction: StoreTransaction) -> NamedWallets:
        return NamedWallets(self.plugin.ledger_for(transaction))


class SettlingStore(SqlStore):
    """Units of work whose commit is followed by settlement on chain (as the worker does)."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__(bridge.engine, NamedWalletsPlugin(bridge.plugin), clock=bridge.clock)
        self.bridge = bridge

    def __call__(self):
        uow = super().__call__()
        commit = uow.commit

        def commit_and_settle() -> None:
            commit()
            self.bridge.devchain.set_next_timestamp(int(self.bridge.clock().timestamp()))
            self.bridge.settle()
        uow.commit = commit_and_settle
        return uow


class TestEvmLedgerContract(LedgerContract):
    """The shared Ledger contract; runs on eth-tester and anvil, SQLite and PostgreSQL."""

    @pytest.fixture()
    def clock(self, devchain) -> ManualClock:
        # Chain time only moves forward: start after the chain's newest block, a minute a step.
        start = datetime.fromtimestamp(devchain.latest_timestamp() + 3600, UTC)
        return ManualClock(start, timedelta(minutes=1))

    @pytest.fixture()
    def unit_of_work(self, devchain, store_url, clock):
        return SettlingStore(Bridge(devchain, store_url, clock))

    def test_mint_transfer_burn_move_balances_and_supply(self, unit_of_work) -> None:
        """As in the contract, but an applied operation answers ACSP (submitted, not final) and
        becomes ACSC once settled: the chain cannot join the unit of work."""
        assert self.balances(unit_of_work) == {} and self.supply(unit_of_work) == {}
        first = mint(125000)
        assert (self.apply(unit_of_work, first).result, self.apply(unit_of_work, first).status) == (
            APPLIED, "ACSC")  # the second apply is the replay, after settlement
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 125000}
        assert self.supply(unit_of_work) == {"EUR": 125000}
        outcome = self.apply(unit_of_work, transfer(20050))
        assert (outcome.result, outcome.rejection, outcome.status) == (APPLIED, None, "ACSP")
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 104950, (BRUNO, "EUR"): 20050}
        assert self.supply(unit_of_work) == {"EUR": 125000}
        assert self.apply(unit_of_work, burn(5025)).result == APPLIED
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 104950, (BRUNO, "EUR"): 15025}
        assert self.supply(unit_of_work) == {"EUR": 119975}


# -- the state machine -------------------------------------------------------------------------

@pytest.fixture()
def clock(devchain) -> ManualClock:
    return ManualClock(datetime.fromtimestamp(devchain.latest_timestamp() + 3600, UTC),
                       timedelta(minutes=1))


@pytest.fixture()
def bridge(devchain, sqlite_url, clock) -> Bridge:
    return Bridge(devchain, sqlite_url, clock)


ALICE_A, BRUNO_A, CHIYO_A = address_of("alice"), address_of("bruno"), address_of("chiyo")


def test_acsp_until_the_configured_confirmations_then_acsc_never_backwards(devchain, sqlite_url, clock) -> None:
    bridge = Bridge(devchain, sqlite_url, clock, confirmations=3)
    op = evm_mint(1000, ALICE_A)
    assert [o.status for o in bridge.apply(op)] == ["ACSP"]
    assert bridge.row(op.key).state == "planned" and bridge.status(op.key) == "ACSP"
    assert bridge.settler.settle() == []  # submitted and mined: one confirmation of three
    row = bridge.row(op.key)
    assert (row.state, row.nonce is not None, row.tx_hash is not None) == ("submitted", True, True)
    assert bridge.status(op.key) == "ACSP"
    assert bridge.apply(op)[0].result == REPLAYED and bridge.apply(op)[0].status == "ACSP"
    devchain.mine()
    assert bridge.settler.settle() == [] and bridge.status(op.key) == "ACSP"  # two of three
    devchain.mine()
    changes = bridge.settler.settle()
    assert [(c.key, c.old_status, c.new_status) for c in changes] == [(op.key, "ACSP", "ACSC")]
    assert changes[0].operation == op and changes[0].tx_hash == bridge.row(op.key).tx_hash
    assert bridge.status(op.key) == "ACSC"
    devchain.mine(3)
    assert bridge.settler.settle() == []  # each change is reported once
    assert bridge.apply(op)[0].status == "ACSC"
    assert bridge.on_chain("EUR", "balanceOf", ALICE_A) == 1000


def test_many_operations_are_in_flight_at_once_with_consecutive_nonces(bridge) -> None:
    ops = [evm_mint(100 + i, ALICE_A) for i in range(40)]
    bridge.apply(*ops)
    assert bridge.settler.submit() == 40  # one round signs and broadcasts them all
    nonces = sorted(bridge.row(op.key).nonce for op in ops)
    assert nonces == list(range(nonces[0], nonces[0] + 40))
    changes = bridge.settle()
    assert sorted(c.key for c in changes) == sorted(op.key for op in ops)
    assert {c.new_status for c in changes} == {"ACSC"}
    assert bridge.on_chain("EUR", "totalSupply") == sum(op.amount for op in ops)


def test_in_flight_is_bounded(devchain, sqlite_url, clock) -> None:
    bridge = Bridge(devchain, sqlite_url, clock)
    bridge.settler.max_in_flight = 5
    bridge.apply(*[evm_mint(10, ALICE_A) for _ in range(12)])
    assert bridge.settler.submit() == 5
    bridge.settle()
    assert bridge.on_chain("EUR", "totalSupply") == 120


def test_insufficient_tokens_are_am04_at_once_counting_what_is_in_flight(bridge) -> None:
    first, spend, too_much = evm_mint(1000, ALICE_A), transfer(600, ALICE_A, BRUNO_A), transfer(500, ALICE_A, BRUNO_A)
    outcomes = bridge.apply(first, spend, too_much)  # nothing settled yet: planned counts
    assert [o.status for o in outcomes] == ["ACSP", "ACSP", "RJCT"]
    assert outcomes[2].rejection.reason == "AM04"
    bridge.settle()
    assert bridge.on_chain("EUR", "balanceOf", ALICE_A) == 400
    assert bridge.apply(too_much)[0].rejection.reason == "AM04"
    assert bridge.apply(transfer(400, ALICE_A, BRUNO_A, key=too_much.key))[0].status == "ACSP"


def test_unknown_currency_and_non_address_wallets_are_rejected(bridge) -> None:
    usd, name = evm_mint(5, ALICE_A, "USD"), evm_mint(5, "w-alice")
    outcomes = bridge.apply(usd, name, evm_mint(5, "0x" + "00" * 20))
    assert [(o.status, o.rejection.reason) for o in outcomes] == [("RJCT", "AM03"), ("RJCT", "AC01"),
                                                                  ("RJCT", "AC01")]


def test_a_reverted_operation_is_rejected_its_balances_restored_and_answered_again(bridge) -> None:
    bridge.apply(evm_mint(100, ALICE_A))
    bridge.settle()
    # The store believes ALICE can spend more than the chain holds (a diverged store).
    with bridge.engine.begin() as connection:
        connection.execute(update(evm_available).where(evm_available.c.wallet == ALICE_A)
                           .values(available=10_000))
    op = transfer(5000, ALICE_A, BRUNO_A)
    assert bridge.apply(op)[0].status == "ACSP"
    changes = bridge.settle()
    assert [(c.key, c.new_status, c.reason) for c in changes] == [(op.key, "RJCT", "AM04")]
    assert "InsufficientBalance" in changes[0].info
    assert bridge.status(op.key) == "RJCT"
    again = bridge.apply(op)[0]
    assert (again.status, again.rejection.reason) == ("RJCT", "AM04")
    with bridge.engine.connect() as connection:
        available = dict(connection.execute(select(evm_available.c.wallet, evm_available.c.available)).all())
    assert available[ALICE_A] == 10_000 and available.get(BRUNO_A, 0) == 0
    assert bridge.on_chain("EUR", "balanceOf", BRUNO_A) == 0


def mint_behind_the_bridge(bridge, op: TokenOperation, wallet: str, amount: int) -> None:
    """A mint sent straight to the chain under `op`'s reference, as an earlier run or another
    node would have: the bridge finds the reference used when it settles `op`."""
    chain = bridge.plugin.chain
    data = chain.call_data(MINT, None, wallet, amount, "0x" + op.key_bytes32.hex())
    tx = chain.sign(bridge.token("EUR"), data, chain.nonce_at("pending"), 200_000, chain.fees())
    assert chain.send(tx.raw) is None


def test_a_reference_already_used_on_chain_for_the_same_payment_is_adopted_not_repeated(bridge) -> None:
    op = evm_mint(700, ALICE_A)
    bridge.apply(op)
    # Someone (an earlier run, another node) already settled this very payment on chain.
    mint_behind_the_bridge(bridge, op, ALICE_A, 700)
    bridge.devchain.mine()
    changes = bridge.settle()
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    assert bridge.on_chain("EUR", "totalSupply") == 700  # once


def test_a_reference_used_on_chain_for_another_payment_is_am05(bridge) -> None:
    op = evm_mint(700, ALICE_A)
    bridge.apply(op)
    mint_behind_the_bridge(bridge, op, BRUNO_A, 1)
    changes = bridge.settle()
    assert [(c.key, c.new_status, c.reason) for c in changes] == [(op.key, "RJCT", "AM05")]
    assert bridge.on_chain("EUR", "totalSupply") == 1


def test_a_mint_that_fails_on_chain_gives_up_its_payment_references(bridge) -> None:
    """Nothing was minted: the payment's other road must be free to mint it."""
    from bridge.ports import PAYMENT_ROAD, STATEMENT_ROAD, MintClaim
    op, statement_mint = evm_mint(700, ALICE_A), evm_mint(700, ALICE_A)
    with bridge.store()() as uow:
        uow.ledger.apply(op, MintClaim(PAYMENT_ROAD, ("uetr:failing",)))
        uow.commit()
    mint_behind_the_bridge(bridge, op, BRUNO_A, 1)
    assert [c.new_status for c in bridge.settle()] == ["RJCT"]
    with bridge.store()() as uow:
        assert uow.ledger.find_claims(["uetr:failing"]) == []
        assert uow.ledger.apply(statement_mint, MintClaim(STATEMENT_ROAD, ("uetr:failing",))).result == APPLIED
        uow.commit()
    bridge.settle()
    assert bridge.on_chain("EUR", "totalSupply") == 701


def test_out_of_gas_is_signed_again_with_more_gas(bridge) -> None:
    op = evm_mint(300, ALICE_A)
    bridge.apply(op)
    with bridge.engine.begin() as connection:
        connection.execute(update(evm_operations).values(gas_limit=40_000))
    changes = bridge.settle()
    row = bridge.row(op.key)
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    assert row.attempts >= 2 and row.gas_limit > 40_000
    assert bridge.on_chain("EUR", "totalSupply") == 300


def test_a_nonce_taken_by_another_transaction_is_planned_again(bridge) -> None:
    op = evm_mint(300, ALICE_A)
    bridge.apply(op)
    chain = bridge.plugin.chain
    nonce = chain.nonce_at("pending")
    # Another process with the same key uses the nonce after the settler counted it.
    assert chain.send(chain.sign_filler(nonce, chain.fees()).raw) is None
    while chain.nonce_at("latest") <= nonce:
        bridge.devchain.mine()
    real = chain.nonce_at
    chain.nonce_at = lambda block="latest": nonce if block == "pending" else real(block)
    try:
        assert bridge.settler.submit() == 1  # the node answers "nonce too low"
    finally:
        chain.nonce_at = real
    assert bridge.row(op.key).nonce == nonce
    changes = bridge.settle()
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    row = bridge.row(op.key)
    assert row.attempts == 2 and row.nonce > nonce
    assert bridge.on_chain("EUR", "totalSupply") == 300


def test_an_issuer_key_that_is_not_the_tokens_issuer_gives_up_after_bounded_attempts(devchain, sqlite_url, clock) -> None:
    bridge = Bridge(devchain, sqlite_url, clock)
    impostor = Bridge(devchain, sqlite_url, clock, engine=bridge.engine)  # same store, other key
    op = evm_mint(300, ALICE_A)
    impostor.apply(op)
    changes = impostor.settle(rounds=3 * MAX_ATTEMPTS)
    assert [(c.key, c.new_status, c.reason) for c in changes] == [(op.key, "RJCT", "MS03")]
    assert impostor.row(op.key).attempts == MAX_ATTEMPTS
    assert bridge.on_chain("EUR", "totalSupply") == 0


def test_resume_after_a_crash_between_recording_and_broadcasting(bridge) -> None:
    """Submitted (tx hash, nonce) is recorded, the process dies before the node saw anything:
    a new settler looks the transaction up, does not find it, broadcasts the same bytes."""
    op = evm_mint(500, ALICE_A)
    bridge.apply(op)
    chain = bridge.plugin.chain
    original_send = chain.send

    original_send_many = chain.send_many

    def crash(raw):
        raise KeyboardInterrupt("killed")
    chain.send = chain.send_many = crash
    with pytest.raises(KeyboardInterrupt):
        bridge.settler.submit()
    chain.send, chain.send_many = original_send, original_send_many
    recorded = bridge.row(op.key)
    assert recorded.state == "submitted" and not chain.is_known(recorded.tx_hash)

    restarted = Bridge(bridge.devchain, "", bridge.clock, key=bridge.key, engine=bridge.engine)
    sent = []
    restarted.plugin.chain.send = lambda raw: sent.append(raw) or original_send(raw)
    changes = restarted.settle()
    assert [(c.key, c.new_status) for c in changes] == [(op.key, "ACSC")]
    assert sent == [bytes(recorded.raw_tx)] and restarted.row(op.key).tx_hash == recorded.tx_hash
    assert restarted.on_chain("EUR", "totalSupply") == 500


def test_resume_after_a_crash_between_broadcasting_and_confirming_sends_nothing_again(devchain, sqlite_url, clock) -> None:
    bridge = Bridge(devchain, sqlite_url, clock, confirmations=2)
    ops = [evm_mint(500, ALICE_A), evm_mint(20, BRUNO_A)]
    bridge.apply(*ops)
    assert bridge.settler.submit() == 2  # broadcast; then the process dies
    restarted = Bridge(devchain, "", clock, key=bridge.key, engine=bridge.engine, confirmations=2)
    sent = []
    chain = restarted.plugin.chain
    original_send, original_send_many = chain.send, chain.send_many
    chain.send = lambda raw: sent.append(raw) or original_send(raw)
    chain.send_many = lambda raws: sent.extend(raws) or original_send_many(raws)
    changes = restarted.settle()
    assert sorted(c.key for c in changes) == sorted(op.key for op in ops) and sent == []
    assert restarted.on_chain("EUR", "totalSupply") == 520


def test_planned_but_never_submitted_is_submitted_after_a_restart(bridge) -> None:
    op = evm_mint(42, ALICE_A)
    bridge.apply(op)  # committed with its ACSP reply; the worker dies before settling
    restarted = Bridge(bridge.devchain, "", bridge.clock, key=bridge.key, engine=bridge.engine)
    assert [(c.key, c.new_status) for c in restarted.settle()] == [(op.key, "ACSC")]


def test_two_settlers_on_one_store_report_each_change_once(bridge) -> None:
    other = Bridge(bridge.devchain, "", bridge.clock, key=bridge.key, engine=bridge.engine)
    ops = [evm_mint(1 + i, ALICE_A) for i in range(10)]
    bridge.apply(*ops)
    changes = []
    for _ in range(5):
        changes += bridge.settler.settle() + other.settler.settle()
        bridge.devchain.mine()
    assert sorted(c.key for c in changes) == sorted(op.key for op in ops)
    assert bridge.on_chain("EUR", "totalSupply") == sum(range(1, 11))


def test_the_token_decimals_are_the_currency_minor_units(bridge) -> None:
    assert {c: bridge.on_chain(c, "decimals") for c in ("EUR", "JPY", "KWD")} == {"EUR": 2, "JPY": 0, "KWD": 3}


def test_ledger_init_is_idempotent_and_refuses_another_chains_tokens(bridge) -> None:
    again = bridge.plugin.initialise(bridge.store())
    assert again["deployed"] == [] and again["contracts"] == bridge.init["contracts"]
    with bridge.engine.begin() as connection:
        from adapters.evm.tables import evm_contracts
        connection.execute(update(evm_contracts).values(chain_id=1))
    with pytest.raises(Exception, match="chain"):
        bridge.plugin.initialise(bridge.store())


def test_adopting_configured_contracts_with_balances(bridge, sqlite_url, tmp_path) -> None:
    bridge.apply(evm_mint(900, ALICE_A))
    bridge.settle()
    contracts = ",".join(f"{c}={a}" for c, a in bridge.init["contracts"].items())
    fresh = create_store_engine(f"sqlite:///{tmp_path / 'adopt.db'}")
    migrate(fresh)
    settings = Settings(ledger="evm", evm_key=bridge.key, evm_contracts=contracts)
    plugin = EvmLedgerPlugin(settings, web3=bridge.devchain.web3, clock=bridge.clock)
    result = plugin.initialise(SqlStore(fresh, plugin))
    assert result["deployed"] == [] and result["adopted"] == ["EUR", "JPY", "KWD"]
    with SqlStore(fresh, plugin)() as uow:
        assert uow.ledger.apply(transfer(901, ALICE_A, BRUNO_A)).rejection.reason == "AM04"
        assert uow.ledger.apply(transfer(900, ALICE_A, BRUNO_A)).status == "ACSP"


def test_the_key_is_never_logged_nor_shown(bridge, capsys, caplog) -> None:
    import logging
    caplog.set_level(logging.DEBUG)
    bridge.apply(evm_mint(100, ALICE_A), transfer(500, ALICE_A, BRUNO_A))
    with bridge.engine.begin() as connection:
        connection.execute(update(evm_operations).values(gas_limit=30_000))
    bridge.settle()
    key = bridge.key.removeprefix("0x")
    seen = capsys.readouterr()
    for text in (seen.out, seen.err, caplog.text, repr(bridge.plugin), repr(bridge.plugin.chain),
                 repr(bridge.settings)):
        assert key not in text and key.upper() not in text
    with pytest.raises(Exception) as bad:
        _ = EvmLedgerPlugin(Settings(ledger="evm", evm_key=key[:-2] + "zz", evm_url="http://127.0.0.1:9")).chain
    assert key[:-2] not in str(bad.value)


@pytest.mark.slow
def test_replays_while_submitted_never_mint_twice(bridge) -> None:
    op = evm_mint(250, ALICE_A)
    bridge.apply(op)
    bridge.settler.submit()
    for _ in range(3):
        assert bridge.apply(op)[0].result == REPLAYED
    bridge.settle()
    assert bridge.on_chain("EUR", "totalSupply") == 250
    assert len(bridge.plugin.chain.settled_logs([bridge.token("EUR")], 0, bridge.plugin.chain.latest())) == 1


def test_burn_and_journal_carry_the_payment_references(bridge) -> None:
    ops = [evm_mint(1000, ALICE_A), transfer(400, ALICE_A, BRUNO_A), burn(100, BRUNO_A)]
    for op in ops:
        bridge.apply(op)
        bridge.settle()
    with bridge.store()() as uow:
        journal = uow.ledger.journal(currency="EUR")
    assert [(p.operation_key, p.kind, p.holder, p.amount) for p in journal] == [
        (ops[0].key, MINT, ALICE_A, 1000), (ops[1].key, TRANSFER, ALICE_A, -400),
        (ops[1].key, TRANSFER, BRUNO_A, 400), (ops[2].key, BURN, BRUNO_A, -100)]
    assert all(p.refs == next(o.refs for o in ops if o.key == p.operation_key) for p in journal)
    logs = bridge.plugin.chain.settled_logs([bridge.token("EUR")], 0, bridge.plugin.chain.latest())
    assert [s.payment_ref for s in logs] == ["0x" + op.key_bytes32.hex() for op in ops]


def test_a_nonce_left_unused_by_a_refused_transaction_is_filled(bridge) -> None:
    """The node refuses one transaction outright (a simulated revert at send): its nonce must
    not hold back the transactions signed after it."""
    from adapters.evm.errors import REJECT, Verdict
    ops = [evm_mint(10, ALICE_A), evm_mint(20, ALICE_A), evm_mint(30, ALICE_A)]
    bridge.apply(*ops)
    chain = bridge.plugin.chain
    send, send_many = chain.send, chain.send_many

    def refuse_first(raws):
        verdicts = [Verdict(REJECT, "MS03", "refused by the node")]
        return verdicts + [send(raw) for raw in raws[1:]]
    chain.send_many = refuse_first
    try:
        assert bridge.settler.submit() == 3
    finally:
        chain.send_many = send_many
    changes = bridge.settle()
    assert sorted((c.key, c.new_status) for c in changes) == sorted(
        [(ops[0].key, "RJCT"), (ops[1].key, "ACSC"), (ops[2].key, "ACSC")])
    assert bridge.row(ops[0].key).nonce is None  # released, then used up by a filler
    assert bridge.on_chain("EUR", "totalSupply") == 50


def test_free_nonces_fill_gaps_before_new_ones() -> None:
    from adapters.evm.settlement.nonces import free_nonces
    free = free_nonces(5, 10, {5, 6, 8})
    assert [next(free) for _ in range(5)] == [7, 9, 10, 11, 12]
    free = free_nonces(12, 10, {13})
    assert [next(free) for _ in range(3)] == [12, 14, 15]
