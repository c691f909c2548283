"""`tokenbridge status REF`: a payment's lifecycle by UETR, EndToEndId or MsgId."""
from __future__ import annotations

import json
from pathlib import Path

from bridge.iso.reader import MessageReader
from bridge.status_requests.lifecycle import lifecycle

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MINT = SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml"
MINT_MSG, MINT_E2E, MINT_UETR = ("BNPA20261124-0917-004417", "OUALI-LOYER-2026-11",
                                 "e9b0e81b-975e-4591-bb9f-15fccadfc99f")
BATCH_MSG = "TOKN20261124-1610-BAT007"
REJECTED_MSG, REJECTED_E2E = "BNPA20261124-1702-004590", "OUALI-HILL-TRAD-17"


def _replayed(seeded_cli):
    seeded_cli("replay", str(SAMPLES / "pacs008"))
    return seeded_cli


def _status(cli, ref: str) -> dict:
    result = cli("status", ref, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_status_by_uetr_shows_message_operation_and_reply(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    shown = _status(cli, MINT_UETR.upper())
    assert shown["ref"] == MINT_UETR.upper() and shown["found"] is True
    [message] = shown["messages"]
    assert message["message_id"] == MINT_MSG and message["message_type"].startswith("pacs.008")
    assert message["verdict"] == "accepted" and message["received_at"]
    reply, notice = message["replies"]  # the answer, then the mint's camt.054 to Alice
    assert reply["message_type"].startswith("pacs.002") and reply["published"] is False  # no broker
    assert notice["message_type"] == "camt.054.001.08"
    [tx] = message["transactions"]
    assert (tx["end_to_end_id"], tx["uetr"], tx["status"], tx["reason"]) == (
        MINT_E2E, MINT_UETR, "ACSC", None)
    operation = tx["operation"]
    assert operation["kind"] == "mint" and operation["key"] == f"uetr:{MINT_UETR}"
    assert operation["credit_wallet"] == "w-alice" and operation["debit_wallet"] is None
    assert operation["status"] == "ACSC" and operation["currency"] == "EUR"
    assert operation["amount"] == tx["amount"]


def test_status_by_end_to_end_id_and_text(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    shown = _status(cli, MINT_E2E)
    assert [t["uetr"] for m in shown["messages"] for t in m["transactions"]] == [MINT_UETR]
    text = cli("status", MINT_E2E)
    assert text.exit_code == 0
    for expected in (MINT_MSG, MINT_E2E, "ACSC", "mint", "pacs.002"):
        assert expected in text.output


def test_status_by_msg_id_lists_every_transaction(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    [message] = _status(cli, BATCH_MSG)["messages"]
    assert message["verdict"] == "partial" and len(message["transactions"]) == 3
    statuses = [t["status"] for t in message["transactions"]]
    assert statuses.count("ACSC") == 2 and statuses.count("RJCT") == 1
    rejected = next(t for t in message["transactions"] if t["status"] == "RJCT")
    assert rejected["reason"] and rejected["operation"] is None
    text = cli("status", BATCH_MSG)
    assert text.exit_code == 0 and "RJCT" in text.output and "ACSC" in text.output


def test_rejected_payment_shows_rjct_with_its_reason(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    [message] = _status(cli, REJECTED_MSG)["messages"]
    assert message["verdict"] == "rejected"
    [tx] = message["transactions"]
    assert tx["end_to_end_id"] == REJECTED_E2E and tx["status"] == "RJCT"
    assert tx["reason"] and tx["operation"] is None
    text = cli("status", REJECTED_MSG)
    assert text.exit_code == 0 and "RJCT" in text.output and tx["reason"] in text.output


def test_unknown_reference_exits_1_and_empty_is_usage(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    unknown = cli("status", "NO-SUCH-REFERENCE")
    assert unknown.exit_code == 1 and "no payment found" in unknown.output
    shown = cli("status", "NO-SUCH-REFERENCE", "--json")
    assert shown.exit_code == 1 and json.loads(shown.output) == {
        "ref": "NO-SUCH-REFERENCE", "found": False, "messages": []}
    assert cli("status", " ").exit_code == 2
    assert cli("status").exit_code == 2


def test_status_changes_nothing(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    before = cli("balances", "--json").output
    _status(cli, BATCH_MSG)
    assert cli("balances", "--json").output == before


def test_lifecycle_core_on_the_in_memory_fake(memory_registry) -> None:
    store = memory_registry
    reader = MessageReader()
    _receive(store, MINT.read_bytes())
    with store() as uow:
        assert lifecycle("unknown", uow, reader) == []
        by_uetr = lifecycle(MINT_UETR, uow, reader)
        by_e2e = lifecycle(MINT_E2E, uow, reader)
        by_msg = lifecycle(MINT_MSG, uow, reader)
    assert by_uetr == by_e2e == by_msg
    [message] = by_uetr
    [tx] = message.transactions
    assert message.message_id == MINT_MSG and tx.current.status == "ACSC"
    assert tx.operation is not None and tx.operation.operation.kind == "mint"
    assert [r.message_type[:8] for r in message.replies] == ["pacs.002", "camt.054"]


def _receive(store, raw: bytes) -> None:
    """The message through the bus on the in-memory store, as the worker or replay would."""
    from bridge.bus import MessageBus
    MessageBus(MessageReader(), store).handle(raw)


def test_status_lists_every_message_sent_about_the_payment(seeded_cli) -> None:
    """Follow-ups, returns and notifications are correlated to the original's MsgId: the
    outbox finds them (an EVM follow-up pacs.002 is shown, published or not)."""
    from adapters.bootstrap import open_store
    from adapters.cli.common import settings
    from bridge.messages import OutboundMessage
    cli = _replayed(seeded_cli)
    store = open_store(settings())
    follow_up = OutboundMessage("TB-follow-up-1", MINT_MSG, "pacs.002.001.10", b"<Document/>")
    with store() as uow:
        uow.outbox.add(follow_up)
        uow.commit()
    [message] = _status(cli, MINT_UETR)["messages"]
    assert [(r["message_type"][:8], r["published"]) for r in message["replies"]] == [
        ("pacs.002", False), ("camt.054", False), ("pacs.002", False)]
    assert message["replies"][2]["message_id"] == "TB-follow-up-1"
    with store() as uow:
        uow.outbox.mark_published(["TB-follow-up-1"])
        uow.commit()
    [message] = _status(cli, MINT_UETR)["messages"]
    assert [r["published"] for r in message["replies"]] == [False, False, True]
