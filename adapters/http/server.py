"""`tokenbridge serve`: the API and console on uvicorn, at TOKENBRIDGE_HTTP_ADDR."""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from adapters.config import Settings, http_address
from adapters.http.app import create_app
from adapters.http.context import ConsoleContext

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Server(uvicorn.Server):
    """uvicorn, stopped by SIGTERM/SIGINT with exit 0 as the worker is: uvicorn itself raises
    the signal again once it has shut down, which ends the process by the signal."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(settings: Settings, console: ConsoleContext, log_level: str = "info") -> None:
    """Serve until SIGTERM or SIGINT; the requests in progress finish, then it returns."""
    address = http_address(settings.http_addr)
    assert address is not None  # checked when the settings were loaded
    host, port = address
    _Server(uvicorn.Config(create_app(console), host=host, port=port, log_level=log_level,
                           access_log=True, server_header=False)).run()
