"""Returns through the worker, on the real RabbitMQ and a real store: a pacs.004 in is answered
with its pacs.002, and the pacs.004 the operator's return queued in the outbox is published on
tokenbridge.out with its message type as routing key."""
from __future__ import annotations

import pytest

from bridge.config import BridgeConfig
from bridge.iso.reader import MessageReader
from bridge.payments.originals import OriginalRefs, find_original
from bridge.returns.return_message import ReturnReason
from bridge.returns.service import return_payment
from broker import drain_routed_answers
from builders import ReturnTx, Tx, pacs004, pacs008
from reconcile_support import ALICE, FATIMA
from test_worker import RunningWorker, publish, supply

pytestmark = pytest.mark.slow  # the real broker


def test_a_return_in_and_a_return_out_through_the_worker(registry, amqp_prefix) -> None:
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    out = f"{amqp_prefix}.out"
    with RunningWorker(registry, amqp_prefix, sweep_interval_s=0.2, sweep_age_s=0):
        publish(amqp_prefix, [pacs008([tx], msg_id="PAY-1").encode()])
        assert [r for r, _, _ in drain_routed_answers(out, lambda got: len(got) >= 1)] == ["pacs.002.001.10"]
        publish(amqp_prefix, [pacs004([ReturnTx(amount="40.00", uetr=tx.uetr, return_id="R-1")]).encode()])
        [(routing, _, body)] = drain_routed_answers(out, lambda got: len(got) >= 1)
        assert routing == "pacs.002.001.10" and b"ACSC" in body
        with registry() as uow:
            original = find_original(OriginalRefs(uetr=tx.uetr), None, uow, MessageReader())
            outcome = return_payment(uow, original, reason=ReturnReason("CUST"), config=BridgeConfig(),
                                     now=registry.clock())
            uow.commit()
        [(routing, properties, body)] = drain_routed_answers(out, lambda got: len(got) >= 1)
    assert routing == "pacs.004.001.09" and properties.message_id == outcome.message.message_id
    assert body == outcome.message.body and MessageReader().read(body).valid
    assert supply(registry) == {"EUR": 0}
    with registry() as uow:
        assert uow.outbox.backlog() == 0
