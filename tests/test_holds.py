"""Holds through the bus and the scheduler, on the SQL ledger (SQLite and PostgreSQL): value-dated
payments held on the debtor and settled at the start of their date (a restarted scheduler
settles each once), conditional payments released by the right fulfilment only, voided at
expiry, operators' releases and voids, and a held payment cancelled by camt.056. Dates move by
an injected clock, never by sleeping."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import parse_registry_rows
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.holds import service
from bridge.holds.schedule import HoldSchedule
from bridge.holds.terms import HoldKind, HoldState
from bridge.iso.reader import MessageReader
from bridge.settlement.follow_ups import SettlementFollowUps
from builders import CancelTx, Tx, camt056, condition, pacs008
from conftest import SAMPLES
from test_status_requests import answer

ALICE_IBAN, BRUNO_IBAN, OUTSIDE = "DE82500199000417283905", "DE17500199000602517730", "FR7630006000011234567890189"
ALICE, BRUNO = "w-alice", "w-bruno"
BERLIN = "Europe/Berlin"
SECRET = b"the goods were delivered"
LOCK = hashlib.sha256(SECRET).hexdigest()


class Clock:
    """Settable time: tests move it across midnight."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Bank:
    """A store, the bus and the holds' scheduler sharing one clock (a worker, as wired)."""

    def __init__(self, url: str, clock: Clock) -> None:
        import csv
        self.clock = clock
        engine = create_store_engine(url)
        migrate(engine)
        self.store = SqlStore(engine, SqlLedgerPlugin(clock=clock), clock=clock)
        with (SAMPLES / "accounts.csv").open(newline="") as handle, self.store() as uow:
            uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
            uow.commit()
        self.config = BridgeConfig(timezone=BERLIN)
        self.bus = MessageBus(MessageReader(), self.store, self.config, is_transient=self.store.is_transient,
                              clock=clock)
        self.follow_ups = SettlementFollowUps(MessageReader(), self.config, clock)

    def schedule(self) -> HoldSchedule:
        """A freshly started worker's scheduler: it knows only what the store holds."""
        return HoldSchedule(self.store, self.follow_ups, self.clock)

    def pay(self, *txs: Tx) -> list[tuple]:
        outcome = self.bus.handle(pacs008(list(txs)).encode())
        return [t[3:] for t in answer(outcome.reply.body)["transactions"]]

    def books(self) -> dict[str, tuple[int, int]]:
        with self.store() as uow:
            return {b.wallet: (b.balance, b.held) for b in uow.ledger.balances() if b.currency == "EUR"}

    def hold(self, key_or_ref: str):
        with self.store() as uow:
            (found,) = service.holds_named(key_or_ref, uow)
            return found

    def invariants(self) -> None:
        with self.store() as uow:
            balances, supply = uow.ledger.balances(), uow.ledger.supply()
            held = uow.ledger.holds(HoldState.HELD)
        assert sum(b.balance for b in balances if b.currency == "EUR") == supply.get("EUR", 0)
        assert all(0 <= b.held <= b.balance for b in balances)
        reserved: dict[str, int] = {}
        for h in held:
            reserved[h.operation.debit_wallet] = reserved.get(h.operation.debit_wallet, 0) + h.reserved
        assert {b.wallet: b.held for b in balances if b.held} == {w: n for w, n in reserved.items() if n}


@pytest.fixture()
def bank(store_url: str) -> Bank:
    bank = Bank(store_url, Clock(datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)))
    yield bank
    bank.store.engine.dispose()


def mint(amount: str) -> Tx:
    return Tx(amount=amount, debtor_iban=OUTSIDE, creditor_iban=ALICE_IBAN)


def alice_pays_bruno(amount: str, **kw) -> Tx:
    return Tx(amount=amount, debtor_iban=ALICE_IBAN, creditor_iban=BRUNO_IBAN, **kw)


def test_a_value_dated_payment_holds_the_debtor_and_settles_once_at_midnight_across_a_restart(bank) -> None:
    assert bank.pay(mint("100.00")) == [("ACSC", None)]
    tx = alice_pays_bruno("60.00", settlement_date="2026-11-25")
    assert bank.pay(tx) == [("ACSP", None)]
    assert bank.books() == {ALICE: (10000, 6000)}  # the balance stays; 60.00 of it held
    assert bank.pay(alice_pays_bruno("50.00")) == [("RJCT", "AM04")]  # only 40.00 available
    assert bank.pay(alice_pays_bruno("40.00")) == [("ACSC", None)]
    assert bank.schedule().run() == []  # not due: 23:59 in Berlin is still the 24th
    bank.clock.now = datetime(2026, 11, 24, 22, 59, tzinfo=timezone.utc)
    assert bank.schedule().run() == []
    bank.invariants()
    bank.clock.now = datetime(2026, 11, 24, 23, 0, 30, tzinfo=timezone.utc)  # 00:00:30 in Berlin
    (follow_up,) = bank.schedule().run()
    said = answer(follow_up.body)
    assert said["transactions"][0][2:] == (tx.uetr, "ACSC", None)
    assert said["group"] == ("ACSC", None)
    assert bank.books() == {ALICE: (0, 0), BRUNO: (10000, 0)}
    assert bank.schedule().run() == []  # another worker, restarted: nothing twice
    held = bank.hold(tx.uetr)
    assert (held.state, held.ended_by, held.terms.kind) == (HoldState.EXECUTED, "schedule", HoldKind.VALUE_DATED)
    assert bank.pay(alice_pays_bruno("60.00", settlement_date="2026-11-25", end_to_end_id=tx.end_to_end_id,
                                      tx_id=tx.tx_id, uetr=tx.uetr)) != [("ACSP", None)]
    bank.invariants()


def test_a_value_dated_mint_is_scheduled_without_a_hold(bank) -> None:
    assert bank.pay(Tx(amount="5.00", debtor_iban=OUTSIDE, creditor_iban=ALICE_IBAN,
                       settlement_date="2026-11-26")) == [("ACSP", None)]
    assert bank.books() == {}
    bank.clock.now = datetime(2026, 11, 25, 23, 0, tzinfo=timezone.utc)
    (follow_up,) = bank.schedule().run()
    assert answer(follow_up.body)["transactions"][0][3] == "ACSC"
    assert bank.books() == {ALICE: (500, 0)}
    bank.invariants()


def test_a_hashlock_is_released_by_its_fulfilment_only_and_a_wrong_one_is_counted(bank) -> None:
    bank.pay(mint("100.00"))
    tx = alice_pays_bruno("30.00", supplementary=condition(LOCK, "2026-11-30T12:00:00+01:00"))
    assert bank.pay(tx) == [("ACSP", None)]
    held = bank.hold(tx.uetr)
    assert (held.terms.kind, held.terms.sha256, held.reserved) == (HoldKind.CONDITIONAL, LOCK, 3000)
    with bank.store() as uow:
        wrong = service.release(uow, held, now=bank.clock(), follow_ups=bank.follow_ups,
                                fulfilment=b"guess".hex())
        uow.commit()
    assert (wrong.done, wrong.reason, wrong.emitted) == (False, "WRONG", ())
    assert bank.books() == {ALICE: (10000, 3000)} and bank.hold(tx.uetr).wrong_fulfilments == 1
    held = bank.hold(tx.uetr)
    with bank.store() as uow:
        right = service.release(uow, held, now=bank.clock(), follow_ups=bank.follow_ups,
                                fulfilment=SECRET.hex())
        uow.commit()
    assert right.done and answer(right.emitted[0].body)["transactions"][0][3] == "ACSC"
    assert bank.books() == {ALICE: (7000, 0), BRUNO: (3000, 0)}
    with bank.store() as uow:  # released once: again (with what was read before), refused
        again = service.release(uow, held, now=bank.clock(), follow_ups=bank.follow_ups,
                                fulfilment=SECRET.hex())
    assert (again.done, again.reason) == (False, "ENDED")
    bank.invariants()


def test_an_unfulfilled_condition_is_voided_at_its_expiry_with_a_timeout(bank) -> None:
    bank.pay(mint("100.00"))
    tx = alice_pays_bruno("30.00", supplementary=condition(LOCK, "2026-11-24T12:00:00+01:00"))
    assert bank.pay(tx) == [("ACSP", None)]
    bank.clock.now = datetime(2026, 11, 24, 11, 0, tzinfo=timezone.utc)
    (follow_up,) = bank.schedule().run()
    assert answer(follow_up.body)["transactions"][0][3:] == ("RJCT", "AB03")
    assert bank.books() == {ALICE: (10000, 0)}
    assert bank.hold(tx.uetr).state == HoldState.VOIDED
    assert bank.schedule().run() == []
    bank.invariants()


def test_an_expired_or_unusable_condition_is_refused(bank) -> None:
    bank.pay(mint("100.00"))
    assert bank.pay(alice_pays_bruno("1.00", supplementary=condition(LOCK, "2026-11-24T09:00:00Z"))) == [
        ("RJCT", "DT01")]
    assert bank.pay(alice_pays_bruno("1.00", supplementary=condition("ab", "2026-11-25T09:00:00Z"))) == [
        ("RJCT", "FF01")]
    assert bank.books() == {ALICE: (10000, 0)}


def test_operators_release_and_void_with_a_reason(bank) -> None:
    bank.pay(mint("100.00"))
    first = alice_pays_bruno("10.00", supplementary=condition(LOCK, "2026-11-30T12:00:00Z"))
    second = alice_pays_bruno("20.00", settlement_date="2026-12-01")
    bank.pay(first, second)
    held_first, held_second = bank.hold(first.uetr), bank.hold(second.uetr)
    with bank.store() as uow:
        released = service.release(uow, held_first, now=bank.clock(), follow_ups=bank.follow_ups,
                                   operator="ops-anna", reason="goods received, confirmed by phone")
        voided = service.void(uow, held_second, now=bank.clock(), follow_ups=bank.follow_ups,
                              operator="ops-anna", reason="customer withdrew the order")
        uow.commit()
    assert released.done and voided.done
    assert answer(voided.emitted[0].body)["transactions"][0][3:] == ("RJCT", "MS03")
    assert bank.hold(first.uetr).ended_by == "operator:ops-anna"
    assert bank.books() == {ALICE: (9000, 0), BRUNO: (1000, 0)}
    bank.invariants()


def test_a_held_payment_is_cancelled_by_camt056_until_it_settles(bank) -> None:
    bank.pay(mint("100.00"))
    tx = alice_pays_bruno("60.00", settlement_date="2026-11-25")
    msg = "MSG-HELD-1"
    bank.bus.handle(pacs008([tx], msg_id=msg).encode())
    outcome = bank.bus.handle(camt056([CancelTx(msg_id=msg, end_to_end_id=tx.end_to_end_id,
                                                uetr=tx.uetr)]).encode())
    assert [t.status for t in outcome.transactions] == ["ACCR"]
    (follow_up,) = outcome.emitted
    assert answer(follow_up.body)["transactions"][0][3:] == ("RJCT", "DS02")
    assert bank.books() == {ALICE: (10000, 0)}
    bank.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    assert bank.schedule().run() == []  # voided: the date passes without it
    assert bank.books() == {ALICE: (10000, 0)}
    bank.invariants()


def test_the_cli_lists_releases_and_voids_holds_with_audited_actions(seeded_cli, tmp_path) -> None:
    import json
    files = tmp_path / "in"
    files.mkdir()
    (files / "1.xml").write_text(pacs008([mint("100.00")], msg_id="CLI-MINT"))
    conditional = alice_pays_bruno("25.00", supplementary=condition(LOCK, "2099-01-01T00:00:00Z"))
    dated = alice_pays_bruno("5.00", settlement_date="2099-01-01")
    (files / "2.xml").write_text(pacs008([conditional, dated], msg_id="CLI-HELD"))
    assert seeded_cli("replay", str(files)).exit_code == 0
    listed = [json.loads(line) for line in seeded_cli("holds", "list", "--json").output.splitlines()]
    assert [(h["kind"], h["state"], h["amount"]) for h in listed] == [
        ("conditional", "held", "25.00"), ("value_dated", "held", "5.00")]
    wrong = seeded_cli("holds", "release", conditional.uetr, "--fulfilment", "00ff")
    assert wrong.exit_code == 1 and "WRONG" in wrong.output
    assert seeded_cli("holds", "release", conditional.uetr, "--fulfilment", SECRET.hex()).exit_code == 0
    assert seeded_cli("holds", "void", f"CLI-HELD/{dated.end_to_end_id}", "--reason", "customer asked",
                      "--operator", "anna").exit_code == 0
    assert seeded_cli("holds", "void", dated.uetr, "--reason", "again").exit_code == 1
    assert seeded_cli("holds", "release", "nothing-like-it", "--reason", "x").exit_code == 1
    states = [json.loads(line)["state"] for line in seeded_cli("holds", "list", "--json").output.splitlines()]
    assert states == ["executed", "voided"]
    balances = json.loads(seeded_cli("balances", "--json").output)
    assert {w["wallet"]: w["balance"] for w in balances["wallets"]} == {ALICE: "75.00", BRUNO: "25.00"}
    assert seeded_cli("audit", "verify").exit_code == 0


@pytest.mark.slow  # the real broker
def test_the_worker_settles_a_value_dated_payment_when_its_date_begins(bank, amqp_prefix) -> None:
    """Through RabbitMQ as deployed: the worker answers ACSP, and its scheduler (on the settlement
    thread, the clock moved past midnight in Berlin) sends the ACSC follow-up on `tokenbridge.out`."""
    from broker import drain_answers
    from test_worker import RunningWorker, publish
    tx = alice_pays_bruno("60.00", settlement_date="2026-11-25")
    schedule = HoldSchedule(bank.store, bank.follow_ups, bank.clock, interval_s=0.0)
    with RunningWorker(bank.store, amqp_prefix, pipeline=bank.bus, settle=schedule.run_if_due,
                       settle_interval_s=0.05):
        publish(amqp_prefix, [pacs008([mint("100.00")]).encode()])
        drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=30)
        publish(amqp_prefix, [pacs008([tx]).encode()])
        [(_, first)] = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=30)
        assert [t[3:] for t in answer(first)["transactions"]] == [("ACSP", None)]
        assert bank.books() == {ALICE: (10000, 6000)}
        bank.clock.now = datetime(2026, 11, 24, 23, 0, 30, tzinfo=timezone.utc)  # 00:00:30 in Berlin
        [(_, follow_up)] = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1, timeout_s=30)
    said = answer(follow_up)
    assert said["transactions"][0][2:] == (tx.uetr, "ACSC", None)
    assert bank.books() == {ALICE: (4000, 0), BRUNO: (6000, 0)}
    bank.invariants()
