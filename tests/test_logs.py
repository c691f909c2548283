"""The JSON log lines: one per event, as `json.dumps` renders the event (a value JSON has no type
for as its repr), whatever sys.stderr is at the time."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import structlog

from adapters.logs import configure_logging


@pytest.fixture(autouse=True)
def logging_restored():
    """Whatever logging configuration the other tests run with, after these."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


def test_a_json_line_is_json_dumps_of_the_event(capsys) -> None:
    configure_logging("info")
    structlog.get_logger("test").info("message", digest="ab", outcome="accepted", seen_before=False,
                                      amount=Decimal("1.50"), name="Zoë",
                                      transactions=[{"uetr": None, "outcome": "ACSC"}])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "message" and event["level"] == "info" and event["amount"] == "Decimal('1.50')"
    assert event["transactions"] == [{"uetr": None, "outcome": "ACSC"}] and event["timestamp"].endswith("Z")
    assert lines[0] == json.dumps(event)  # same separators, same escaping, same key order


def test_nothing_below_the_level_is_written(capsys) -> None:
    configure_logging("warning")
    structlog.get_logger("test").info("message", digest="ab")
    assert capsys.readouterr().err == ""
