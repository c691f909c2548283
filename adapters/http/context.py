"""What every route of the API works with, wired once by `adapters.bootstrap.console_context`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from adapters.rabbitmq.inspection import BrokerInspection
from adapters.sql.store import SqlStore
from bridge.config import BridgeConfig
from bridge.iso.reader import MessageReader


@dataclass(frozen=True)
class ConsoleContext:
    store: SqlStore
    reader: MessageReader
    broker: BrokerInspection
    ledger_name: str
    clock: Callable[[], datetime]
    config: BridgeConfig = BridgeConfig()  # the bank's, for the messages an action sends (pacs.004)


def context(request: Request) -> ConsoleContext:
    return request.app.state.console
