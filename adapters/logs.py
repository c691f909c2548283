"""Structured logs (structlog): JSON lines when not on a terminal, readable on one; to stderr."""
from __future__ import annotations

import json
import logging
import sys

import structlog


class _StderrLogger:
    """Writes each rendered line to whatever sys.stderr is *now*: a stream swapped by a test
    runner or a CLI harness and later closed must never break logging in a long-lived worker."""

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _unknown_as_text(value: object) -> object:
    """A value JSON has no type for, as structlog's renderer shows it."""
    return value.__structlog__() if hasattr(value, "__structlog__") else repr(value)


_JSON = json.JSONEncoder(default=_unknown_as_text)
"""One encoder for every line: `json.dumps` with an option builds a new one each call."""


def _json_line(event: dict, **_options: object) -> str:
    return _JSON.encode(event)


def configure_logging(level: str | None = None) -> None:
    """Set up structlog once per process. Default level: INFO for machines, WARNING on a
    terminal (people see the command's own output there; `--log-level info` shows all)."""
    on_terminal = sys.stderr.isatty()
    chosen = (level or ("warning" if on_terminal else "info")).upper()
    renderer = (structlog.dev.ConsoleRenderer(colors=True) if on_terminal
                else structlog.processors.JSONRenderer(serializer=_json_line))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(chosen)),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=True,
    )
