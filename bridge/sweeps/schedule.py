"""The scheduler's side of sweeps: a run every `interval_s` (the worker calls it after each
batch and when idle), its report queued in the outbox when it applied or newly refused
something. The clock is injected: tests move through a week without sleeping. What is done is
read from the store (the sweeps' keys), so two workers and restarts sweep each period once."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.messages import OutboundMessage
from bridge.ports import APPLIED, UnitOfWork
from bridge.sweeps.report import sweep_report
from bridge.sweeps.rules import SweepRule
from bridge.sweeps.service import REFUSED, SweepContext, SweepRun, run_sweeps


class SweepSchedule:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], rules: Sequence[SweepRule],
                 context: SweepContext, clock: Callable[[], datetime], interval_s: float = 1.0) -> None:
        self.unit_of_work = unit_of_work
        self.rules = list(rules)
        self.context = context
        self.clock = clock
        self.interval_s = interval_s
        self._last = float("-inf")
        self._reported_refusals: set[tuple[str, str, str | None, str | None]] = set()

    def run(self) -> list[OutboundMessage]:
        """One run now: the `report.sweep` it committed to the outbox (none when it did nothing
        new: a refusal repeated every round is reported once by this scheduler)."""
        self._last = time.monotonic()
        run = run_sweeps(self.unit_of_work, self.rules, self.clock(), self.context)
        return self.report(run)

    def report(self, run: SweepRun) -> list[OutboundMessage]:
        refusals = {(r.rule, r.member, r.period, r.reason) for r in run.results if r.result == REFUSED}
        if not run.count(APPLIED) and refusals <= self._reported_refusals:
            return []
        self._reported_refusals |= refusals
        report = sweep_report(run)
        with self.unit_of_work() as uow:
            uow.outbox.add(report)
            uow.commit()
        return [report]

    def run_if_due(self) -> list[OutboundMessage]:
        """A run if the last one is `interval_s` old, else nothing."""
        if not self.rules or time.monotonic() - self._last < self.interval_s:
            return []
        return self.run()
