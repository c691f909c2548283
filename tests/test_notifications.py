"""camt.054 notifications: each settled operation is told to every account it touched, one
message per account (mint: the creditor's, burn: the debtor's, transfer: both), with the
payment's references; whichever road applied it (a pacs.008, a statement mint); none for a
replay, a rejection, a dry run, or with notifications off. The core on the in-memory fake; the
stores (SQLite and PostgreSQL) and `replay --out` for real."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from builders import Tx, app_header, pacs008, swift_envelope
from camt053_builders import Ntry, camt053
from notification_support import Notified, notifications, read_notification
from reconcile_support import ManualClock, clocked, pipeline, report

from bridge.accounts import RegisteredAccount
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.iso.reader import MessageReader
from bridge.notifications.notices import Notifications
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, TokenOperation
from bridge.ports import AccountRegistry
from bridge.reconciliation.statement_mints import ledger_reference

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
FATIMA, HANNA = "FR7630004008280001058392658", "AT611904300234573201"
CHIYO = "JP-TANAKA-001"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def run_on(store, **config):
    clock = ManualClock()
    return pipeline(clocked(store, clock), clock, **config)


def sent(outcome) -> list[Notified]:
    """The outcome's notifications, read back against their XSD, in the order emitted."""
    found = notifications(outcome.emitted)
    assert [m.message_type for m in outcome.emitted] == [m.message_type for m in found]
    assert all(MessageReader().read(m.body).valid for m in found)
    return [entry for message in found for entry in read_notification(message)]


def test_a_mint_credits_the_creditors_account_with_the_payments_references(memory_registry) -> None:
    tx = Tx(amount="125.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    outcome = run_on(memory_registry).handle(pacs008([tx], msg_id="MSG-MINT-1").encode())
    assert outcome.verdict == "accepted"
    (entry,) = sent(outcome)
    assert (entry.account, entry.side, entry.amount, entry.currency, entry.status) == (
        ALICE, "CRDT", "125.00", "EUR", "BOOK")
    assert entry.code == "PMNT/RCDT/OTHR" and not entry.reversal
    key = outcome.transactions[0].operation.key
    assert entry.refs == {"MsgId": "MSG-MINT-1", "AcctSvcrRef": ledger_reference(key),
                          "EndToEndId": tx.end_to_end_id, "UETR": tx.uetr, "TxId": tx.tx_id}
    assert outcome.emitted[0].correlation_id == "MSG-MINT-1"


def test_a_transfer_notifies_both_accounts_one_message_each(memory_registry) -> None:
    run = run_on(memory_registry)
    run.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    outcome = run.handle(pacs008([Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode())
    assert len(notifications(outcome.emitted)) == 2
    assert [(e.account, e.side, e.amount, e.code) for e in sent(outcome)] == [
        (ALICE, "DBIT", "30.00", "PMNT/ICDT/BOOK"), (BRUNO, "CRDT", "30.00", "PMNT/RCDT/BOOK")]


def test_a_burn_debits_the_debtors_account(memory_registry) -> None:
    run = run_on(memory_registry)
    run.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=BRUNO)]).encode())
    outcome = run.handle(pacs008([Tx(amount="40.00", debtor_iban=BRUNO, creditor_iban=HANNA)]).encode())
    assert outcome.transactions[0].operation.kind == BURN
    assert [(e.account, e.side, e.amount, e.code) for e in sent(outcome)] == [
        (BRUNO, "DBIT", "40.00", "PMNT/ICDT/OTHR")]


def test_one_message_per_account_with_an_entry_per_operation_of_the_message(memory_registry) -> None:
    """A pacs.008 of three transactions (a mint to Alice, a transfer Alice -> Bruno, one
    rejected): Alice's camt.054 has two entries, Bruno's one; the rejected one none."""
    outcome = run_on(memory_registry).handle(pacs008([
        Tx(amount="50.00", debtor_iban=FATIMA, creditor_iban=ALICE),
        Tx(amount="20.00", debtor_iban=ALICE, creditor_iban=BRUNO),
        Tx(amount="999.00", debtor_iban=BRUNO, creditor_iban=ALICE)]).encode())  # AM04
    assert outcome.verdict == "partial"
    messages = notifications(outcome.emitted)
    assert [[(e.account, e.side, e.amount) for e in read_notification(m)] for m in messages] == [
        [(ALICE, "CRDT", "50.00"), (ALICE, "DBIT", "20.00")], [(BRUNO, "CRDT", "20.00")]]


def test_a_statement_mint_and_its_reversal_are_notified(memory_registry) -> None:
    statement_mint_and_reversal(memory_registry)


def test_a_statement_mint_and_its_reversal_are_notified_on_the_sql_stores(registry) -> None:
    statement_mint_and_reversal(registry)  # SQLite and PostgreSQL


def statement_mint_and_reversal(store) -> None:
    """The camt.053 road: a booked credit on the omnibus account the bridge never saw as a
    pacs.008 mints, and is notified like any mint; its reversal debits, marked RvslInd."""
    run = run_on(store)
    tx = Tx(amount="42.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    credit = Ntry.of(tx, "STMT-PAY-1", booked_at="2026-11-24T17:00:00Z")
    minted = run.handle(camt053([credit]).encode())
    assert report(minted)["statements"][0]["entries"][0]["status"] == "minted"
    (entry,) = sent(minted)
    assert (entry.account, entry.side, entry.amount, entry.refs["EndToEndId"], entry.refs["UETR"]) == (
        ALICE, "CRDT", "42.00", tx.end_to_end_id, tx.uetr)
    reversal = Ntry.of(tx, "STMT-PAY-1", credit=False, reversal=True, booked_at="2026-11-24T17:30:00Z")
    reversed_ = run.handle(camt053([reversal], opening="42.00").encode())
    assert report(reversed_)["statements"][0]["entries"][0]["status"] == "reversed"
    (entry,) = sent(reversed_)
    # booked as the statements book it: the return of a received credit
    assert (entry.account, entry.side, entry.reversal, entry.code) == (ALICE, "DBIT", True, "PMNT/RCDT/RRTN")


def test_replays_rejections_and_dry_runs_notify_nothing(memory_registry) -> None:
    run = run_on(memory_registry)
    body = pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()
    assert len(notifications(run.handle(body).emitted)) == 1
    again = run.handle(body)  # the same bytes: answered from the inbox
    assert again.seen_before and again.emitted == ()
    rejected = run.handle(pacs008([Tx(amount="10.00", debtor_iban=BRUNO, creditor_iban=ALICE)]).encode())
    assert rejected.verdict == "rejected" and rejected.emitted == ()  # AM04: nothing moved
    dry = run.handle(pacs008([Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode(),
                     dry_run=True)
    assert dry.emitted == ()
    # the statement that books the payment already minted by its pacs.008 matches, mints nothing
    with memory_registry() as uow:
        queued = uow.outbox.pending(limit=100)
    assert [m.message_type for m in queued].count("camt.054.001.08") == 1


def test_the_same_payment_in_other_bytes_is_replayed_and_notifies_nothing_new(memory_registry) -> None:
    """The same pacs.008 again inside a business envelope: other bytes (the inbox does not know
    them), the same payment (its operation's key): the ledger replays it, nothing is notified."""
    run = run_on(memory_registry)
    document = pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)])
    assert len(notifications(run.handle(document.encode()).emitted)) == 1
    again = run.handle(swift_envelope(document, app_header()).encode())
    assert not again.seen_before and again.transactions[0].result == "replayed"
    assert again.emitted == ()


def test_a_payment_seen_again_by_the_statement_road_notifies_nothing_new(memory_registry) -> None:
    run = run_on(memory_registry)
    tx = Tx(amount="42.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    assert len(notifications(run.handle(pacs008([tx]).encode()).emitted)) == 1
    matched = run.handle(camt053([Ntry.of(tx, "STMT-PAY-2")]).encode())
    assert report(matched)["statements"][0]["entries"][0]["status"] == "matched"
    assert matched.emitted == ()


def test_off_by_configuration_notifies_nothing(memory_registry) -> None:
    run = run_on(memory_registry, notifications=False)
    outcome = run.handle(pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    assert outcome.verdict == "accepted" and outcome.emitted == ()
    with memory_registry() as uow:
        assert [m.message_type for m in uow.outbox.pending()] == ["pacs.002.001.10"]


def test_the_configured_version_is_written(memory_registry) -> None:
    run = run_on(memory_registry, notification_version="camt.054.001.02")
    outcome = run.handle(pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    (message,) = outcome.emitted
    assert message.message_type == "camt.054.001.02"
    assert [(e.account, e.side) for e in read_notification(message)] == [(ALICE, "CRDT")]


# -- every version --------------------------------------------------------------------------------

REFS = PaymentRefs(message_id="MSG-1", end_to_end_id="E2E-1", transaction_id="TX-1",
                   uetr="5a1e9c2b-3d4f-4a6b-8c7d-9e0f1a2b3c4d", instruction_id="INSTR-1")
OPERATIONS = [TokenOperation("k-mint", MINT, "EUR", 12345, None, "w-alice", REFS),
              TokenOperation("k-transfer", TRANSFER, "JPY", 500, "w-chiyo", "w-chiyo-2", REFS),
              TokenOperation("k-burn", BURN, "EUR", 45, "w-alice", None, REFS)]


def list_registry() -> AccountRegistry:
    """The account registry port over a list (its default by-wallet look-up)."""
    rows = [RegisteredAccount(ALICE, "EUR", "w-alice"),
            RegisteredAccount(CHIYO, "JPY", "w-chiyo", scheme="Prtry:TOKENBANK"),
            RegisteredAccount("JP-SATO-002", "JPY", "w-chiyo-2", status="closed"),
            RegisteredAccount("JP-SATO-003", "JPY", "w-chiyo-2")]  # the active one first

    class ListRegistry(AccountRegistry):
        def get(self, account: str) -> RegisteredAccount | None:
            return next((r for r in rows if r.account == account), None)

        def upsert(self, accounts) -> int:
            raise NotImplementedError

        def all(self) -> list[RegisteredAccount]:
            return rows
    return ListRegistry()


@pytest.mark.parametrize("version", NOTIFICATION.versions)
def test_every_version_is_valid_against_its_xsd_and_reads_back(version: str) -> None:
    at = datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)
    written = Notifications(version, "TOKNDEFFXXX").of([(op, at) for op in OPERATIONS], list_registry())
    assert [m.message_type for m in written] == [version] * 3
    for message in written:
        read = MessageReader().read(message.body)
        assert read.valid and read.message_type == version, read.findings
    found = [(e.account, e.side, e.amount, e.currency) for m in written for e in read_notification(m)]
    assert found == [(ALICE, "CRDT", "123.45", "EUR"), (ALICE, "DBIT", "0.45", "EUR"),
                     (CHIYO, "DBIT", "500", "JPY"), ("JP-SATO-003", "CRDT", "500", "JPY")]
    refs = read_notification(written[0])[0].refs
    assert refs["EndToEndId"] == "E2E-1" and refs["InstrId"] == "INSTR-1" and refs["TxId"] == "TX-1"
    assert ("UETR" in refs) == (int(version[-2:]) >= 8)


def test_markup_in_the_references_is_escaped_and_what_xml_cannot_hold_replaced() -> None:
    at = datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)
    refs = PaymentRefs(message_id="M&S <1>", end_to_end_id='E2E "quoted" & <b>', transaction_id="TX\x01-1")
    (message,) = Notifications().of([(TokenOperation("k", MINT, "EUR", 100, None, "w-alice", refs), at)],
                                    list_registry())
    assert MessageReader().read(message.body).valid
    (entry,) = read_notification(message)
    assert (entry.refs["MsgId"], entry.refs["EndToEndId"], entry.refs["TxId"]) == (
        "M&S <1>", 'E2E "quoted" & <b>', "TX?-1")


def test_a_wallet_without_an_account_is_not_notified() -> None:
    at = datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)
    lost = TokenOperation("k", TRANSFER, "EUR", 100, "w-nobody", "w-alice", REFS)
    (message,) = Notifications().of([(lost, at)], list_registry())
    assert [(e.account, e.side) for e in read_notification(message)] == [(ALICE, "CRDT")]


# -- the stores ---------------------------------------------------------------------------------

def test_mint_transfer_burn_on_the_sql_stores_are_notified_in_the_same_unit(registry) -> None:
    store = registry  # SQLite and PostgreSQL
    run = run_on(store)
    outcomes = [run.handle(pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode()),
                run.handle(pacs008([Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode()),
                run.handle(pacs008([Tx(amount="10.00", debtor_iban=BRUNO, creditor_iban=HANNA)]).encode())]
    assert [[(e.account, e.side, e.amount) for e in sent(o)] for o in outcomes] == [
        [(ALICE, "CRDT", "100.00")], [(ALICE, "DBIT", "30.00"), (BRUNO, "CRDT", "30.00")],
        [(BRUNO, "DBIT", "10.00")]]
    with store() as uow:  # queued with the replies, each after its message's reply
        queued = [m.message_id for m in uow.outbox.pending(limit=100)]
    expected = [m.message_id for o in outcomes for m in (o.reply, *o.emitted)]
    assert queued == expected


def test_replay_out_writes_each_notification_after_its_reply(seeded_cli, tmp_path: Path) -> None:
    out = tmp_path / "sent"
    result = seeded_cli("replay", "--out", str(out), str(SAMPLES / "pacs008"))
    assert result.exit_code == 1  # the sample story has a rejected payment
    names = sorted(p.name for p in out.glob("*.xml"))
    assert "03-transfer-alice-to-bruno-eur.1.pacs.002.001.10.xml" in names
    assert {n for n in names if n.startswith("03-")} == {
        "03-transfer-alice-to-bruno-eur.1.pacs.002.001.10.xml",
        "03-transfer-alice-to-bruno-eur.2.camt.054.001.08.xml",
        "03-transfer-alice-to-bruno-eur.3.camt.054.001.08.xml"}
    assert not [n for n in names if n.startswith("09-") and "camt.054" in n]  # rejected
    for path in out.glob("*.camt.054.*.xml"):
        assert MessageReader().read(path.read_bytes()).valid
    again = seeded_cli("replay", "--out", str(tmp_path / "again"), str(SAMPLES / "pacs008"))
    assert again.exit_code == 1 and not list((tmp_path / "again").glob("*.camt.054.*"))


def test_replay_with_notifications_off_writes_replies_only(seeded_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TOKENBRIDGE_NOTIFICATIONS", "off")
    out = tmp_path / "sent"
    seeded_cli("replay", "--out", str(out), str(SAMPLES / "pacs008"))
    assert len(list(out.glob("*.xml"))) == 9 and not list(out.glob("*.camt.054.*"))


# -- the worker ---------------------------------------------------------------------------------

@pytest.mark.slow  # the real broker
def test_the_worker_publishes_notifications_with_their_type_as_routing_key(registry, amqp_prefix) -> None:
    """A customer channel binds its own queue to tokenbridge.out by the camt.054 keys and receives
    the notifications only (`camt.054.#`: a type has four words), each with the documented properties."""
    from broker import channel, drain_routed
    from test_worker import RunningWorker, publish
    queue = f"{amqp_prefix}.notifications"
    publish(amqp_prefix, [])  # declares the topology
    connection, ch = channel()
    ch.queue_declare(queue)
    ch.queue_bind(queue, f"{amqp_prefix}.out", routing_key="camt.054.#")  # four words: #, not *
    try:
        bodies = [pacs008([Tx(amount="3.00", debtor_iban=FATIMA, creditor_iban=ALICE)], msg_id="MSG-W-1"),
                  pacs008([Tx(amount="1.00", debtor_iban=ALICE, creditor_iban=BRUNO)], msg_id="MSG-W-2"),
                  pacs008([Tx(amount="9.00", debtor_iban=BRUNO, creditor_iban=ALICE)], msg_id="MSG-W-3")]  # AM04
        with RunningWorker(registry, amqp_prefix):
            publish(amqp_prefix, [b.encode() for b in bodies])
            got = drain_routed(queue, lambda got: len(got) >= 3, timeout_s=60)
            late = drain_routed(queue, lambda got: False, timeout_s=1)  # the rejected one: nothing
    finally:
        ch.queue_delete(queue)
        connection.close()
    assert late == [] and [key for key, _, _ in got] == ["camt.054.001.08"] * 3
    assert all(p.type == "camt.054.001.08" and p.content_type == "application/xml" for _, p, _ in got)
    assert [p.correlation_id for _, p, _ in got] == ["MSG-W-1", "MSG-W-2", "MSG-W-2"]
    assert len({p.message_id for _, p, _ in got}) == 3
    from bridge.messages import OutboundMessage
    read = [[(e.account, e.side, e.amount) for e in read_notification(OutboundMessage(p.message_id, None, key, body))]
            for key, p, body in got]
    assert read == [[(ALICE, "CRDT", "3.00")], [(ALICE, "DBIT", "1.00")], [(BRUNO, "CRDT", "1.00")]]


# -- returns: by message (pacs.004 through the bus) and by the operator (outside it) --------------

def queued_notices() -> list:
    """The camt.054s in the outbox of the store `seeded_cli` set up, oldest first."""
    from adapters.bootstrap import open_store
    from adapters.config import load_settings
    store = open_store(load_settings())
    with store() as uow:
        found = [m for m in uow.outbox.pending(limit=1000) if m.message_type.startswith("camt.054")]
    store.engine.dispose()
    return found


def test_an_operators_return_is_notified_with_the_reversal(seeded_cli) -> None:
    """`tokenbridge return` runs outside the bus: its reversal (a burn of the returned part of
    a mint) is notified all the same, in the same transaction as the return."""
    mint = SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml"
    assert seeded_cli("replay", str(mint)).exit_code == 0
    assert len(queued_notices()) == 1  # the mint's
    returned = seeded_cli("return", "e9b0e81b-975e-4591-bb9f-15fccadfc99f", "--reason", "MD06",
                          "--amount", "250.00")
    assert returned.exit_code == 0, returned.output
    notice = queued_notices()[-1]
    assert MessageReader().read(notice.body).valid
    # a return, not a reversal (RvslInd is for bookings undone): the received credit returned
    assert [(e.account, e.side, e.amount, e.reversal, e.code) for e in read_notification(notice)] == [
        (ALICE, "DBIT", "250.00", False, "PMNT/RCDT/RRTN")]
    refused = seeded_cli("return", "e9b0e81b-975e-4591-bb9f-15fccadfc99f", "--reason", "MD06",
                         "--amount", "5000.00")  # more than is left: refused, nothing notified
    assert refused.exit_code == 1 and len(queued_notices()) == 2


def test_returns_by_pacs004_are_notified(seeded_cli, tmp_path: Path) -> None:
    out = tmp_path / "sent"
    seeded_cli("replay", str(SAMPLES / "pacs008"))
    seeded_cli("replay", "--out", str(out), str(SAMPLES / "pacs004"))
    notices = sorted(out.glob("*.camt.054.*.xml"))
    assert notices and all(MessageReader().read(p.read_bytes()).valid for p in notices)
    assert {p.name.split(".")[0] for p in notices} <= {p.stem for p in (SAMPLES / "pacs004").glob("*.xml")}
