"""The return service (bridge.returns.service) on the in-memory fake of the ports: the reversal
of each operation kind, partial returns, the refusals, the replay, and the pacs.004 it writes
in the original's version family (XSD-valid, read back by our reader)."""
from __future__ import annotations

import pytest

from bridge.codes import Status
from bridge.config import BridgeConfig
from bridge.iso.pacs004_writer import RETURN_VERSIONS
from bridge.iso.reader import MessageReader
from bridge.operations import BURN, MINT, TRANSFER
from bridge.payments.originals import OriginalRefs, find_original
from bridge.ports import RETURN_BY_MESSAGE
from bridge.returns.return_message import PaymentReturnMessage, ReturnReason
from bridge.returns.service import ReturnRequest, apply_return, return_payment
from builders import Tx, app_header, pacs008, swift_envelope
from reconcile_support import ALICE, BRUNO, FATIMA, ManualClock, clocked, pipeline

ISSUER = "TOKNDEFFXXX"
REASON = ReturnReason("AC04", info="account closed")


@pytest.fixture()
def bank(memory_registry):
    clock = ManualClock()
    store = clocked(memory_registry, clock)
    return store, pipeline(store, clock, issuer_bic=ISSUER), clock


def pay(bus, tx: Tx, version: str = "08", header: bool = False, msg_id: str = "PAY-1",
        sender: str = "BNPAFRPPXXX") -> None:
    document = pacs008([tx], version=version, msg_id=msg_id, instructing_bic=sender)
    body = swift_envelope(document, app_header(msg_def=f"pacs.008.001.{version}", sender=sender,
                                               biz_msg_id="BIZ-PAY-1")) if header else document
    outcome = bus.handle(body.encode())
    assert outcome.verdict == "accepted", outcome.summary


def money(store) -> tuple[dict, dict]:
    with store() as uow:
        return {b.wallet: b.balance for b in uow.ledger.balances() if b.balance}, uow.ledger.supply()


def located(store, uetr: str):
    with store() as uow:
        return find_original(OriginalRefs(uetr=uetr), None, uow, MessageReader())


def test_a_mint_returned_in_full_burns_it_and_writes_a_pacs004_of_its_release(bank) -> None:
    store, bus, clock = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, header=True)
    original = located(store, tx.uetr)
    assert original is not None and original.recorded.operation.kind == MINT
    with store() as uow:
        outcome = return_payment(uow, original, reason=REASON, config=BridgeConfig(issuer_bic=ISSUER),
                                 now=clock())
        uow.commit()
    assert outcome.status == Status.ACCEPTED_SETTLEMENT_COMPLETED and outcome.fully_returned
    assert outcome.operation.kind == BURN and outcome.operation.debit_wallet == "w-alice"
    assert money(store) == ({}, {"EUR": 0})
    message = outcome.message
    assert message.message_type == RETURN_VERSIONS["pacs.008.001.08"] == "pacs.004.001.09"
    read = MessageReader().read(message.body)
    assert read.valid and read.header_valid, read.findings
    assert isinstance(read.payload, PaymentReturnMessage)
    returned = read.payload.transactions[0]
    assert (returned.uetr, returned.end_to_end_id, str(returned.returned)) == (tx.uetr, tx.end_to_end_id,
                                                                             "100.00 EUR")
    assert returned.reason.code == "AC04" and returned.original_message.message_id == "PAY-1"
    assert read.header.to_bic == "BNPAFRPPXXX" and read.header.from_bic == ISSUER
    assert message.correlation_id == "BIZ-PAY-1"
    with store() as uow:
        assert [m.message_id for m in uow.outbox.pending()][-1] == message.message_id
        again = return_payment(uow, original, reason=REASON, config=BridgeConfig(), now=clock())
    assert again.refused and again.reason == "ARDT" and again.message is None


def request(return_id: str, amount: int | None, currency: str | None = None) -> ReturnRequest:
    return ReturnRequest(return_id, REASON, RETURN_BY_MESSAGE, "RTR-MSG", amount, currency)


def test_partial_returns_never_exceed_the_original_and_a_replay_applies_nothing(bank) -> None:
    store, bus, _ = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx)
    original = located(store, tx.uetr).recorded
    outcomes = []
    for return_id, amount in (("R1", 4000), ("R2", 5000), ("R1", 4000), ("R3", 1001), ("R1", 3999),
                              ("R4", 1000), ("R5", 1)):
        with store() as uow:
            outcomes.append(apply_return(uow, original, request(return_id, amount)))
            uow.commit()
    assert [(o.status, o.result, o.reason) for o in outcomes] == [
        ("ACSC", "applied", None), ("ACSC", "applied", None), ("ACSC", "replayed", None),
        ("RJCT", None, "AM09"), ("RJCT", None, "AM05"), ("ACSC", "applied", None), ("RJCT", None, "ARDT")]
    assert money(store) == ({}, {"EUR": 0})


def test_refusals_change_nothing(bank) -> None:
    store, bus, _ = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx)
    original = located(store, tx.uetr).recorded
    before = money(store)
    with store() as uow:
        assert apply_return(uow, None, request("R0", 1)).reason == "AG09"
        assert apply_return(uow, original, request("R1", 100, "USD")).reason == "AM11"
        assert apply_return(uow, original, request("R2", 10001)).reason == "AM09"
        uow.commit()
    assert money(store) == before


def test_a_transfer_back_is_refused_when_the_creditor_spent_the_tokens(bank) -> None:
    store, bus, _ = bank
    pay(bus, Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE), msg_id="PAY-0")
    transfer = Tx(amount="60.00", debtor_iban=ALICE, creditor_iban=BRUNO, debtor_bic=ISSUER)
    pay(bus, transfer, sender=ISSUER)
    spend = Tx(amount="50.00", debtor_iban=BRUNO, creditor_iban=FATIMA, debtor_bic=ISSUER)
    pay(bus, spend, msg_id="PAY-2", sender=ISSUER)
    original = located(store, transfer.uetr).recorded
    assert original.operation.kind == TRANSFER
    before = money(store)
    with store() as uow:
        refused = apply_return(uow, original, request("R1", None))
        assert refused.reason == "AM04" and uow.returns.returned(original.operation.key) == 0
        partial = apply_return(uow, original, request("R2", 1000))
        uow.commit()
    assert partial.operation.debit_wallet == "w-bruno" and partial.operation.credit_wallet == "w-alice"
    assert before == ({"w-alice": 4000, "w-bruno": 1000}, {"EUR": 5000})
    assert money(store) == ({"w-alice": 5000}, {"EUR": 5000})  # Bruno's last 10.00 went back


def test_a_burn_returned_is_minted_back_to_the_debtor(bank) -> None:
    store, bus, _ = bank
    pay(bus, Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE), msg_id="PAY-0")
    burn = Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=FATIMA, debtor_bic=ISSUER)
    pay(bus, burn, sender=ISSUER)
    original = located(store, burn.uetr).recorded
    assert original.operation.kind == BURN
    with store() as uow:
        outcome = apply_return(uow, original, request("R1", None))
        uow.commit()
    assert outcome.operation.kind == MINT and outcome.operation.credit_wallet == "w-alice"
    assert money(store) == ({"w-alice": 10000}, {"EUR": 10000})
