"""Issue 18: a worker started while its broker is down waits for it with back-off (it gave up
after about half a second), stops at once when asked to, and goes on when the broker comes up.
Pauses are injected: nothing here waits for real delays."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from adapters.rabbitmq.channel import wait_for_broker

BROKER = ("127.0.0.1", 5672)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def url(port: int) -> str:
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


class Relay:
    """A broker that comes up: from now on, `port` forwards to the real RabbitMQ."""

    def __init__(self, port: int) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(BROKER)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            target.close()

    def close(self) -> None:
        self.server.close()


def test_waits_with_growing_delays_and_stops_when_asked() -> None:
    stop, delays = threading.Event(), []

    def pause(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 7:
            stop.set()  # SIGTERM while waiting
    assert wait_for_broker(url(closed_port()), stop, wait=pause) is None
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]
    capped = []
    stopper = threading.Event()
    wait_for_broker(url(closed_port()), stopper,
                    wait=lambda s: capped.append(s) or (len(capped) == 10 and stopper.set()))
    assert capped[-3:] == [15.0, 15.0, 15.0]  # capped as after a loss


def test_a_stop_requested_before_anything_returns_at_once() -> None:
    stop = threading.Event()
    stop.set()
    assert wait_for_broker(url(closed_port()), stop, wait=lambda s: pytest.fail("waited")) is None


@pytest.mark.slow
def test_goes_on_when_the_broker_comes_up(amqp_prefix) -> None:
    port, delays, relays = closed_port(), [], []

    def pause(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            relays.append(Relay(port))  # the broker is up for the fourth attempt
    connection = wait_for_broker(url(port), threading.Event(), wait=pause)
    try:
        assert connection is not None and connection.is_open and delays == [0.2, 0.4, 0.8]
        connection.channel().queue_declare(f"{amqp_prefix}.probe", exclusive=True)
    finally:
        connection.close()
        relays[0].close()


@pytest.mark.slow
def test_the_worker_command_waits_for_the_broker_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
           "TOKENBRIDGE_AMQP_URL": url(closed_port())}
    command = [sys.executable, "-c", "from adapters.cli import main; main()"]
    subprocess.run([*command, "ledger", "init"], env=env, check=True, capture_output=True)
    worker = subprocess.Popen([*command, "--log-level", "info", "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        waits = []
        for line in worker.stdout:  # blocks until the worker says it is waiting, twice
            if "broker unreachable at start" in line:
                waits.append(line)
                if len(waits) == 2:
                    break
        assert worker.poll() is None  # still there: it did not give up
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert '"retry_in_s": 0.2' in waits[0] and '"retry_in_s": 0.4' in waits[1]
