"""Secrets (database and broker passwords, the issuer key) never appear in output, errors or logs."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.config import load_settings
from adapters.logs import configure_logging

SECRET = "s3cr3t-Pa55"


def test_settings_repr_hides_the_issuer_key() -> None:
    settings = load_settings({"TOKENBRIDGE_EVM_KEY": "0x" + "ab" * 32})
    assert "ab" * 32 not in repr(settings) and "***" in repr(settings)


@pytest.mark.parametrize("args", [["balances"], ["ledger", "init"], ["accounts", "list"],
                                  ["ledger", "info", "--json"]])
def test_database_password_is_redacted_everywhere(monkeypatch, args) -> None:
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"postgresql://bridge:{SECRET}@127.0.0.1:1/none")
    result = CliRunner().invoke(cli, args)
    assert SECRET not in result.output
    if args[-1] == "--json":
        assert "***" in json.loads(result.output)["store"]


def test_broker_password_is_redacted_in_errors_and_logs(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TOKENBRIDGE_AMQP_URL", f"amqp://bridge:{SECRET}@127.0.0.1:1/%2F")
    result = CliRunner().invoke(cli, ["--log-level", "info", "topology"])
    captured = capsys.readouterr()
    assert result.exit_code == 1 and "unreachable" in result.output
    assert "warning" in result.output  # the retry log lines were captured too
    for text in (result.output, captured.err, captured.out):
        assert SECRET not in text
    configure_logging("warning")
