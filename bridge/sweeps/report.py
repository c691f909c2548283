"""The `report.sweep` message: what a sweep run did, as JSON on `tokenbridge.out`."""
from __future__ import annotations

import json

from bridge.messages import OutboundMessage, new_message_id
from bridge.money import Amount
from bridge.sweeps.service import SweepResult, SweepRun

REPORT_MESSAGE_TYPE = "report.sweep"
"""The sweep report's type on `tokenbridge.out`, and so its routing key."""


def _major(units: int | None, currency: str | None) -> str | None:
    if units is None or currency is None:
        return None
    return str(Amount.from_minor(units, currency).value)


def result_json(result: SweepResult) -> dict[str, object]:
    """One member's sweep; amounts as decimal strings in major units."""
    return {"rule": result.rule, "member": result.member, "header": result.header,
            "period": result.period, "key": result.key, "result": result.result,
            "direction": result.direction.value if result.direction else None,
            "currency": result.currency, "amount": _major(result.amount, result.currency),
            "header_currency": result.header_currency,
            "header_amount": _major(result.header_amount, result.header_currency),
            "reason": result.reason, "info": result.info}


def run_json(run: SweepRun) -> dict[str, object]:
    """`{"at", "dry_run", "counts": {"applied", ...}, "sweeps": [...]}`."""
    counts: dict[str, int] = {}
    for result in run.results:
        counts[result.result] = counts.get(result.result, 0) + 1
    return {"at": run.at.isoformat(), "dry_run": run.dry_run, "counts": counts,
            "sweeps": [result_json(r) for r in run.results]}


def sweep_report(run: SweepRun) -> OutboundMessage:
    """The run as a `report.sweep` message (JSON) for the outbox."""
    body = json.dumps(run_json(run), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return OutboundMessage(new_message_id(), None, REPORT_MESSAGE_TYPE, body, content_type="application/json")
