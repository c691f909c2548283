"""The API and console as one FastAPI application.

Every route under /api, and the OpenAPI description at /openapi.json, needs a bearer token.
The console's files (/, /static/...) are public: they hold no data, and a browser cannot send a
bearer header when it loads a page; the console's script sends the token with each API call.
FastAPI's own /docs pages load their scripts from a CDN, so they are off: nothing here is
loaded from the internet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from adapters.http import balances, dead_letters, health, holds, operator_actions, payments, reconciliations
from adapters.http.access import viewer
from adapters.http.context import ConsoleContext

STATIC = Path(__file__).parent / "static"


def create_app(console: ConsoleContext) -> FastAPI:
    app = FastAPI(title="tokenbridge operations API", version="1",
                  description="The ISO 20022 token bridge's operations API: payments, dead "
                              "letters, reconciliation, balances, health. Bearer tokens from "
                              "`tokenbridge tokens create`; viewers read, operators act.",
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.console = console
    for module in (payments, dead_letters, reconciliations, balances, health, holds, operator_actions):
        app.include_router(module.router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(viewer)])
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
