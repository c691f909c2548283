"""`tokenbridge serve`: the API and console on uvicorn, at TOKENBRIDGE_HTTP_ADDR."""
from __future__ import annotations

import uvicorn

from adapters.config import Settings, http_address
from adapters.http.app import create_app
from adapters.http.context import ConsoleContext


def serve(settings: Settings, console: ConsoleContext, log_level: str = "info") -> None:
    """Serve until SIGTERM or SIGINT; uvicorn finishes the requests in progress, then returns."""
    address = http_address(settings.http_addr)
    assert address is not None  # checked when the settings were loaded
    host, port = address
    uvicorn.run(create_app(console), host=host, port=port, log_level=log_level,
                access_log=True, server_header=False)
