"""The scheduler's side of holds: a round ends every hold whose terms ran out (value date
begun: executed; condition expired: voided), in one unit of work, with the follow-ups."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from bridge.holds.service import run_due
from bridge.messages import OutboundMessage
from bridge.ports import UnitOfWork
from bridge.settlement.follow_ups import SettlementFollowUps


class HoldSchedule:
    """Runs `run_due` at most every `interval_s` (a worker calls it after each batch and when
    idle); the clock is injected, so tests move dates without sleeping. A worker restarted
    across a value date ends each hold once: what is due is read from the store, not memory."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], follow_ups: SettlementFollowUps,
                 clock: Callable[[], datetime], interval_s: float = 1.0) -> None:
        self.unit_of_work = unit_of_work
        self.follow_ups = follow_ups
        self.clock = clock
        self.interval_s = interval_s
        self._last = float("-inf")

    def run(self) -> list[OutboundMessage]:
        """One round now: the follow-up pacs.002s it committed to the outbox."""
        self._last = time.monotonic()
        with self.unit_of_work() as uow:
            emitted = run_due(uow, self.clock(), self.follow_ups)
            uow.commit()  # a hold may end without a follow-up (a mint from no pacs.008)
        return emitted

    def run_if_due(self) -> list[OutboundMessage]:
        """A round if the last one is `interval_s` old, else nothing."""
        if time.monotonic() - self._last < self.interval_s:
            return []
        return self.run()
