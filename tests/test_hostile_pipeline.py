"""Every hostile or broken input, through replay and through the worker: a clear error or an
ISO reject, dead-lettered on the queue when it can never succeed; never a crash."""
from __future__ import annotations

import pytest

from bridge.delivery import dead_letter_reason
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from hostile_inputs import catalogue

CASES = catalogue()
VERDICT = {"refused": "refused", "rjct-poison": "rejected", "rjct": "rejected",
           "accepted": "accepted", "partial": "partial"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_answers_or_refuses_each_hostile_input(sqlite_registry_module, name: str) -> None:
    data, expected = CASES[name]
    pipeline = MessageBus(MessageReader(), sqlite_registry_module)
    outcome = pipeline.handle(data)
    assert outcome.verdict == VERDICT[expected], outcome.summary
    assert outcome.summary
    if expected == "refused":  # issue 15: answered with an admi.002 message reject (was: no reply)
        assert outcome.reply is not None and outcome.reply.message_type == "admi.002.001.01"
        assert MessageReader().read(outcome.reply.body).valid
        read = MessageReader().read(data)
        quoted = (read.header.business_message_id if read.header else None) or read.message_id
        assert outcome.reply.correlation_id == (quoted or outcome.digest[:32])
        assert f"<Ref>{quoted or 'NOTAVAILABLE'}</Ref>".encode() in outcome.reply.body
    else:
        assert outcome.reply is not None and MessageReader().read(outcome.reply.body).valid
    poison = dead_letter_reason(outcome)
    assert (poison is not None) == (expected in ("refused", "rjct-poison")), poison


@pytest.mark.slow  # the real broker
def test_worker_dead_letters_poison_and_answers_the_rest(registry, amqp_prefix) -> None:
    from broker import drain, drain_routed, queue_depth
    from test_worker import RunningWorker, publish
    bodies = [data for data, _ in CASES.values() if len(data) < (10 << 20)]
    expected_dead = sum(1 for data, e in CASES.values() if len(data) < (10 << 20)
                        and e in ("refused", "rjct-poison"))
    # issue 15: the refused are answered too, with an admi.002 (were: not answered)
    expected_rejects = sum(1 for data, e in CASES.values() if len(data) < (10 << 20) and e == "refused")
    expected_replies = sum(1 for data, e in CASES.values() if len(data) < (10 << 20) and e != "refused")
    with RunningWorker(registry, amqp_prefix):
        publish(amqp_prefix, bodies)
        dead = drain(f"{amqp_prefix}.dead", lambda got: len(got) >= expected_dead)
        replies = drain_routed(f"{amqp_prefix}.out", lambda got: len(got) >= expected_replies + expected_rejects)
    rejects = [(p, body) for key, p, body in replies if key == "admi.002.001.01"]
    assert len(dead) == expected_dead and len(replies) - len(rejects) == expected_replies
    assert len(rejects) == expected_rejects
    assert all(p.type == "admi.002.001.01" and p.correlation_id and MessageReader().read(body).valid
               for p, body in rejects)
    assert queue_depth(f"{amqp_prefix}.in") == 0


def test_oversized_input_cannot_fill_the_store(sqlite_registry_module) -> None:
    import hashlib
    data = CASES["oversized 11 MiB"][0]
    MessageBus(MessageReader(), sqlite_registry_module).handle(data)
    with sqlite_registry_module() as uow:
        record = uow.inbox.find(hashlib.sha256(data).hexdigest())
    assert record.verdict == "refused" and len(record.raw) == 64 * 1024
