"""`tokenbridge tokens create|list|revoke` and `tokenbridge serve` (a real process, on a free
port, stopped by SIGTERM with exit 0)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console_support import free_socket


def test_tokens_are_created_once_listed_without_secret_and_revoked(seeded_cli) -> None:
    created = seeded_cli("tokens", "create", "--name", "ops-anna", "--role", "operator")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("tbk_") and len(secret) > 40
    again = seeded_cli("tokens", "create", "--name", "ops-anna", "--role", "viewer")
    assert again.exit_code == 1 and "exists already" in again.output
    assert seeded_cli("tokens", "create", "--name", "bad name!", "--role", "viewer").exit_code == 1
    assert seeded_cli("tokens", "create", "--name", "x", "--role", "admin").exit_code == 2
    listed = json.loads(seeded_cli("tokens", "list", "--json").output)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [("ops-anna", "operator", None)]
    assert secret not in seeded_cli("tokens", "list").output
    revoked = seeded_cli("tokens", "revoke", "ops-anna")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert json.loads(seeded_cli("tokens", "list", "--json").output)[0]["revoked_at"]
    assert seeded_cli("tokens", "revoke", "nobody").exit_code == 1


def test_http_addr_is_checked_when_loaded() -> None:
    from adapters.config import load_settings
    assert load_settings({}).http_addr == "127.0.0.1:8080"
    assert load_settings({"TOKENBRIDGE_HTTP_ADDR": "[::1]:9000"}).http_addr == "[::1]:9000"
    for bad in ("8080", "localhost:", "host:99999", "host:http"):
        with pytest.raises(ValueError, match="TOKENBRIDGE_HTTP_ADDR"):
            load_settings({"TOKENBRIDGE_HTTP_ADDR": bad})


def _stopped_output(server: subprocess.Popen) -> str:
    """What a server that never answered wrote; stopped first, so that reading cannot block on a
    server still running."""
    if server.poll() is None:
        server.kill()
    return server.communicate(timeout=30)[1].decode(errors="replace")


def test_serve_answers_on_its_address_and_stops_cleanly(tmp_path: Path) -> None:
    import httpx
    env = {**os.environ, "TOKENBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
           "TOKENBRIDGE_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    tool = [sys.executable, "-c", "from adapters.cli import main; main()"]
    subprocess.run([*tool, "ledger", "init"], env=env, check=True, capture_output=True)
    secret = subprocess.run([*tool, "tokens", "create", "--name", "vera", "--role", "viewer"], env=env,
                            check=True, capture_output=True, text=True).stdout.strip()
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env["TOKENBRIDGE_HTTP_ADDR"] = f"127.0.0.1:{port}"
    server = subprocess.Popen([*tool, "serve", "--log-level", "warning"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a loaded machine takes its time importing
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/balances",
                                   headers={"Authorization": f"Bearer {secret}"})
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() >= deadline:
                    pytest.fail(f"serve never answered: {_stopped_output(server)}")
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["wallets"] == []
        assert httpx.get(f"http://127.0.0.1:{port}/api/balances").status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    assert code == 0
