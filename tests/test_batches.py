"""Several messages in one unit of work (`MessageBus.handle_batch`, as the worker runs a delivery
batch), the writes deferred to its commit, and the publisher that awaits a batch's confirms:
the same outcomes as one message at a time, nothing lost when a batch fails."""
from __future__ import annotations

from datetime import datetime, timezone

import pika
import pytest

from adapters.rabbitmq.channel import connect
from adapters.rabbitmq.publisher import ConfirmedPublisher, PublishFailed
from adapters.rabbitmq.topology import Names, declare
from adapters.sql import deferred
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.messages import InboundRecord, OutboundMessage
from bridge.operations import MINT, PaymentRefs, TokenOperation
from broker import AMQP_URL, drain, queue_depth
from builders import Tx, pacs008
from fakes import StoreWithFailingLedger
from test_pipeline import ALICE, BRUNO, FATIMA, reply_statuses, state


def pipeline(store) -> MessageBus:
    return MessageBus(MessageReader(), store, is_transient=store.is_transient)


def test_a_batch_ends_as_the_same_messages_one_at_a_time(registry, tmp_path) -> None:
    from conftest import seeded_store
    bodies = [pacs008([Tx(amount="30.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode(),
              pacs008([Tx(amount="20.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode(),
              pacs008([Tx(amount="99.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode(),  # AM04
              b"<not-iso/>"]
    bodies.append(bodies[0])  # the same bytes again, in the same batch: answered, not applied
    batched = pipeline(registry).handle_batch(bodies)
    assert [o.verdict for o in batched] == ["accepted", "accepted", "rejected", "refused", "accepted"]
    assert batched[4].seen_before and batched[4].reply == batched[0].reply
    assert reply_statuses(batched[2].reply.body)[1] == [("RJCT", "AM04")]
    # A second store, one message at a time: the same balances and supply.
    other = seeded_store(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    single = [pipeline(other).handle(body) for body in bodies]
    assert [o.verdict for o in single] == [o.verdict for o in batched]
    assert state(other) == state(registry)
    with registry() as uow:  # every reply is in the outbox, every message in the inbox
        # issue 15: 4, the refused message's admi.002 reject among them (was 3: no reply to it);
        # and the camt.054s of the mint (Alice) and the transfer (Alice and Bruno)
        queued = [m.message_type for m in uow.outbox.pending(limit=100)]
        assert len([t for t in queued if not t.startswith("camt.054")]) == 4
        assert queued.count("camt.054.001.08") == 3
        assert uow.inbox.find(batched[3].digest).reply_id == batched[3].reply.message_id
        assert batched[3].reply.message_type == "admi.002.001.01"
        assert all(uow.inbox.find(o.digest) is not None for o in batched)


def test_a_failing_batch_is_rolled_back_and_each_message_runs_alone(registry) -> None:
    bodies = [pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
              for _ in range(3)]
    calls = {"n": 0}

    def second_message_breaks(operation) -> Exception | None:
        calls["n"] += 1
        return RuntimeError("boom") if calls["n"] == 2 else None  # only inside the batch's unit
    results = pipeline(StoreWithFailingLedger(registry, second_message_breaks)).handle_batch(bodies)
    assert [r.verdict for r in results] == ["accepted"] * 3
    assert calls["n"] == 2 + 3  # the batch broke at its second message; then each alone
    assert state(registry)[1] == {"EUR": 300}  # the rolled-back first attempt left nothing


def test_one_message_that_always_fails_is_handed_back_and_the_others_commit(registry) -> None:
    bodies = [pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
              for _ in range(3)]
    poisoned = MessageReader().read(bodies[1]).payload.group_header.message_id

    def poison(operation) -> Exception | None:
        return ValueError("cannot be processed") if operation.refs.message_id == poisoned else None
    results = pipeline(StoreWithFailingLedger(registry, poison)).handle_batch(bodies)
    assert isinstance(results[1], ValueError)
    assert [results[0].verdict, results[2].verdict] == ["accepted", "accepted"]
    assert state(registry)[1] == {"EUR": 200}


def test_deferred_writes_are_read_back_within_the_unit_and_dropped_on_rollback(registry) -> None:
    def received(digest: str) -> InboundRecord:
        return InboundRecord(digest, datetime.now(timezone.utc), "pacs.008.001.08", "MSG-1", None, None,
                             "accepted", "ACSC: 1 of 1 accepted", b"<Document/>", reply_id="TB-REPLY-1")
    with registry() as uow:
        assert uow.inbox.claim("d" * 64)
        uow.ledger.apply(operation("k-5", 500))
        uow.inbox.record(received("d" * 64))
        uow.outbox.add(OutboundMessage("TB-REPLY-1", "MSG-1", "pacs.002.001.10", b"<Document/>"))
        assert uow.connection.info.get("tokenbridge.deferred")  # queued, not yet sent
        assert uow.inbox.find("d" * 64).verdict == "accepted"  # a read flushes first
        assert uow.outbox.get("TB-REPLY-1") is not None
        assert uow.ledger.supply() == {"EUR": 500}
        uow.rollback()
    with registry() as uow:
        assert uow.inbox.find("d" * 64) is None and uow.ledger.supply() == {}
        assert uow.inbox.claim("e" * 64)
        uow.ledger.apply(operation("k-6", 600))
        uow.inbox.record(received("e" * 64))
    # Left without commit: nothing queued survives into the connection's next use.
    with registry() as uow:
        assert "tokenbridge.deferred" not in uow.connection.info
        deferred.flush(uow.connection)
        assert uow.ledger.supply() == {}


def operation(key: str, amount: int) -> TokenOperation:
    return TokenOperation(key, MINT, "EUR", amount, credit_wallet="w-alice", refs=PaymentRefs("MSG-1"))


@pytest.mark.slow  # the real broker
def test_the_publisher_confirms_a_batch_and_refuses_what_the_broker_does_not_take(amqp_prefix) -> None:
    names = Names(amqp_prefix)
    connection = connect(AMQP_URL, attempts=3)
    declare(connection.channel(), names, (1,))
    publisher = ConfirmedPublisher(connection)
    for i in range(500):
        publisher.publish(names.outbound, "pacs.002.001.10", b"<x/>",
                          pika.BasicProperties(message_id=f"m{i}", delivery_mode=2))
    publisher.wait()
    assert queue_depth(names.outbound) == 500
    # Unroutable: an exchange with nothing bound to it (the inbound exchange is a fanout now,
    # so every key reaches its queue and cannot serve here).
    unbound = f"{amqp_prefix}.unbound"
    connection.channel().exchange_declare(unbound, "direct", auto_delete=True)
    publisher.publish(unbound, "no.such.key", b"<x/>", pika.BasicProperties(message_id="lost"))
    with pytest.raises(PublishFailed, match="returned"):
        publisher.wait()
    # A missing exchange closes the channel: the caller reconnects.
    publisher.publish("tbtest-no-such-exchange", "k", b"<x/>", pika.BasicProperties())
    with pytest.raises(PublishFailed, match="closed"):
        publisher.wait()
    connection.channel().exchange_delete(unbound)
    connection.close()
    assert len(drain(names.outbound, lambda got: len(got) >= 500, timeout_s=30)) == 500


def test_a_batch_costs_a_fixed_number_of_statements_not_some_per_message(registry) -> None:
    """Claims, key look-ups and balance reads are set-based: a batch of 200 payments runs
    about as many statements as a batch of 20 (the deferred writes are one executemany each)."""
    from sqlalchemy import event

    def statements_for(count: int) -> int:
        bodies = [pacs008([Tx(amount="1.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
                  if i % 2 == 0 else
                  pacs008([Tx(amount="0.50", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode()
                  for i in range(count)]
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731 - the statement text
        event.listen(registry.engine, "before_cursor_execute", listener)
        try:
            assert {o.verdict for o in pipeline(registry).handle_batch(bodies)} == {"accepted"}
        finally:
            event.remove(registry.engine, "before_cursor_execute", listener)
        return len(seen)

    small, large = statements_for(20), statements_for(200)
    assert large <= small + 2, (small, large)
    assert small <= 20


@pytest.fixture()
def postgres_store(postgres_url):
    """Concurrent units of work need PostgreSQL: SQLite has one writer at a time."""
    from adapters.sql.engine import create_store_engine, migrate
    from adapters.sql.ledger import SqlLedgerPlugin
    from adapters.sql.store import SqlStore
    engine = create_store_engine(postgres_url)
    migrate(engine)
    yield SqlStore(engine, SqlLedgerPlugin())
    engine.dispose()


def test_the_same_key_committed_meanwhile_by_another_unit_is_retried_as_a_replay(postgres_store) -> None:
    """Two units apply one key; the later commit finds it taken, which is a transient error:
    its retry sees the key and replays (no second mint)."""
    store = postgres_store
    from adapters.sql.ledger import KeyTakenMeanwhile
    from bridge.operations import MINT, TokenOperation
    from bridge.ports import REPLAYED
    operation = TokenOperation("uetr:same", MINT, "EUR", 100, credit_wallet="w-alice")
    with store() as first, store() as second:
        assert first.ledger.apply(operation).result == "applied"
        assert second.ledger.apply(operation).result == "applied"  # not committed anywhere yet
        first.commit()
        with pytest.raises(KeyTakenMeanwhile) as raised:
            second.commit()
        assert store.is_transient(raised.value)
    with store() as retry:
        assert retry.ledger.apply(operation).result == REPLAYED
        assert retry.ledger.supply() == {"EUR": 100}


def test_a_debit_waits_for_the_unit_that_holds_the_wallet(postgres_store) -> None:
    """Two units debit one wallet that covers only one of them: the second reads the balance
    only once the first commits, and is refused AM04 (never both, never a negative balance)."""
    store = postgres_store
    import threading

    from bridge.operations import MINT, TRANSFER, TokenOperation
    with store() as uow:
        uow.ledger.apply(TokenOperation("m", MINT, "EUR", 100, credit_wallet="w-alice"))
        uow.commit()
    spend = [TokenOperation(f"t{i}", TRANSFER, "EUR", 70, debit_wallet="w-alice",
                            credit_wallet="w-bruno") for i in range(2)]
    results = {}
    first = store().__enter__()
    results[0] = first.ledger.apply(spend[0])

    def second() -> None:
        with store() as uow:
            results[1] = uow.ledger.apply(spend[1])
            uow.commit()
    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), "the second debit must wait for the wallet's row"
    first.commit()
    first.__exit__(None, None, None)
    thread.join(timeout=30)
    assert results[0].result == "applied"
    assert results[1].rejection is not None and results[1].rejection.reason == "AM04"
    with store() as uow:
        assert {(b.wallet, b.balance) for b in uow.ledger.balances()} == {("w-alice", 30), ("w-bruno", 70)}
