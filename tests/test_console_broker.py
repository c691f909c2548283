"""The operations API against the real RabbitMQ: dead letters listed, shown and re-driven (by an
operator only, audited with the token's name, then answered by the worker), queue health."""
from __future__ import annotations

import pika
import pytest
from fastapi.testclient import TestClient

from adapters.http.app import create_app
from adapters.rabbitmq.channel import confirmed_channel, connect
from adapters.rabbitmq.topology import Names, declare
from adapters.rabbitmq.worker import REASON_HEADER
from broker import AMQP_URL, drain, queue_depth
from console_support import bearer, console, tokens
from test_worker import RunningWorker, mints, supply

pytestmark = pytest.mark.slow  # the real broker


def dead_letter(prefix: str, body: bytes, reason: str = "OperationalError after 7 attempt(s)") -> None:
    """A message as the worker dead-letters it when the store stayed down."""
    connection = connect(AMQP_URL, attempts=3)
    channel = confirmed_channel(connection)
    declare(channel, Names(prefix), (0.2,))
    channel.basic_publish(f"{prefix}.dead", "", body, pika.BasicProperties(
        message_id="orig-1", type="pacs.008.001.08", headers={REASON_HEADER: reason}))
    connection.close()


@pytest.fixture()
def api(registry, amqp_prefix):
    secrets = tokens(registry)
    with TestClient(create_app(console(registry, AMQP_URL, amqp_prefix))) as client:
        yield client, secrets, registry, amqp_prefix


def test_dead_letters_are_listed_and_shown_with_their_reason_and_message(api) -> None:
    client, secrets, _, prefix = api
    body = mints(1, "4.00")[0]
    dead_letter(prefix, body)
    headers = bearer(secrets["viewer"])
    listed = client.get("/api/dead-letters", headers=headers).json()
    [letter] = listed["letters"]
    assert listed["queue"] == f"{prefix}.dead"
    assert (letter["reason"], letter["message_id"], letter["type"]) == (
        "OperationalError after 7 attempt(s)", "orig-1", "pacs.008.001.08")
    shown = client.get(f"/api/dead-letters/{letter['id'][:6]}", headers=headers).json()
    assert shown["id"] == letter["id"] and shown["body"] == body.decode()
    assert shown["headers"][REASON_HEADER] == letter["reason"]
    assert queue_depth(f"{prefix}.dead") == 1  # looking consumes nothing
    assert client.get("/api/dead-letters/ffffffffffff", headers=headers).status_code == 404


def test_a_viewer_cannot_redrive_and_nothing_is_done(api) -> None:
    from structlog.testing import capture_logs
    client, secrets, _, prefix = api
    dead_letter(prefix, mints(1, "4.00")[0])
    [letter] = client.get("/api/dead-letters", headers=bearer(secrets["viewer"])).json()["letters"]
    with capture_logs() as logged:
        for secret, status in ((secrets["viewer"], 403), (secrets["revoked"], 401), ("", 401)):
            refused = client.post(f"/api/dead-letters/{letter['id']}/redrive", headers=bearer(secret))
            assert refused.status_code == status
    assert [(e["status"], e["token"]) for e in logged if e["event"] == "api request refused"] == [
        (403, "vera"), (401, "rex"), (401, None)]
    assert queue_depth(f"{prefix}.dead") == 1 and queue_depth(f"{prefix}.in") == 0
    assert client.get("/api/audit/actions", headers=bearer(secrets["viewer"])).json()["actions"] == []


def test_an_operator_redrives_a_dead_letter_it_is_answered_and_audited(api) -> None:
    client, secrets, store, prefix = api
    dead_letter(prefix, mints(1, "4.00")[0])
    [letter] = client.get("/api/dead-letters", headers=bearer(secrets["viewer"])).json()["letters"]
    with RunningWorker(store, prefix):
        done = client.post(f"/api/dead-letters/{letter['id']}/redrive", headers=bearer(secrets["operator"]))
        assert done.status_code == 200 and done.json() == {"redriven": [letter["id"]]}
        replies = drain(f"{prefix}.out", lambda got: len(got) >= 1)
    assert [p.type for p, _ in replies] == ["pacs.002.001.10"]
    assert supply(store) == {"EUR": 400} and queue_depth(f"{prefix}.dead") == 0
    missing = client.post("/api/dead-letters/ffffffffffff/redrive", headers=bearer(secrets["operator"]))
    assert missing.status_code == 404
    actions = client.get("/api/audit/actions", headers=bearer(secrets["viewer"])).json()["actions"]
    assert [(a["token"], a["action"], a["target"], a["outcome"]) for a in actions] == [
        ("otto", "redrive", "ffffffffffff", "not_found"), ("otto", "redrive", letter["id"], "done")]
    verified = client.get("/api/audit/verify", headers=bearer(secrets["viewer"])).json()
    assert verified["intact"] is True


def test_health_shows_queue_depths_and_consumers(api) -> None:
    client, secrets, store, prefix = api
    dead_letter(prefix, mints(1)[0])
    with RunningWorker(store, prefix):
        from broker import wait_consuming
        wait_consuming(prefix)
        health = client.get("/api/health", params={"audit": "false"},
                            headers=bearer(secrets["viewer"])).json()
    queues = {q["queue"]: q for q in health["broker"]["queues"]}
    assert health["broker"]["reachable"] is True and health["audit"] is None
    assert queues[f"{prefix}.in"]["consumers"] == 1
    assert queues[f"{prefix}.dead"]["messages"] == 1
    assert f"{prefix}.out" in queues and any(".retry." in q for q in queues)
