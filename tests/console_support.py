"""Helpers for the console and API tests: a store with the samples replayed, API tokens, the
app on TestClient or on a real uvicorn at a free port."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from adapters.http.app import create_app
from adapters.http.context import ConsoleContext
from adapters.rabbitmq.inspection import BrokerInspection
from adapters.rabbitmq.topology import Names
from adapters.sql.api_tokens import Role, create_token
from bridge.bus import MessageBus
from bridge.iso.reader import MessageReader

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MINT_UETR, MINT_E2E, MINT_MSG = ("e9b0e81b-975e-4591-bb9f-15fccadfc99f", "OUALI-LOYER-2026-11",
                                 "BNPA20261124-0917-004417")
ALICE_IBAN, ALICE_WALLET = "DE82500199000417283905", "w-alice"
UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens on port 1


def replay_samples(store, *folders: str) -> MessageBus:
    """Run the sample messages of `folders` (pacs008, camt053, ...) through the bus."""
    bus = MessageBus(MessageReader(), store, is_transient=store.is_transient)
    for folder in folders:
        for path in sorted((SAMPLES / folder).glob("*.xml")):
            bus.handle(path.read_bytes())
    return bus


def tokens(store) -> dict[str, str]:
    """A viewer's and an operator's secret, and a revoked operator's."""
    from adapters.sql.api_tokens import revoke_token
    now = datetime.now(timezone.utc)
    with store.transaction() as transaction:
        found = {"viewer": create_token(transaction.connection, "vera", Role.VIEWER, now),
                 "operator": create_token(transaction.connection, "otto", Role.OPERATOR, now),
                 "revoked": create_token(transaction.connection, "rex", Role.OPERATOR, now)}
        revoke_token(transaction.connection, "rex", now)
    return found


def console(store, amqp_url: str = UNREACHABLE_AMQP, prefix: str = "tokenbridge",
            ledger_name: str = "sql") -> ConsoleContext:
    return ConsoleContext(store=store, reader=MessageReader(),
                          broker=BrokerInspection(amqp_url, Names(prefix), (0.2,)),
                          ledger_name=ledger_name, clock=lambda: datetime.now(timezone.utc))


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_server(context: ConsoleContext):
    """The app on a real uvicorn at a free port of 127.0.0.1; yields its base URL."""
    import time

    import uvicorn
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(context), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn never started"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
