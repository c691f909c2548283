"""The worker's Prometheus counters, counted once per batch: the same totals as one update per
message and transaction."""
from __future__ import annotations

import pytest

from adapters.metrics import OutcomeTally, WorkerMetrics
from bridge.operations import MINT, PaymentRefs, TokenOperation
from bridge.outcomes import MessageOutcome, TransactionOutcome


def outcome(verdict: str, *statuses: tuple[str, str | None], message_type: str | None = "pacs.008.001.08"
            ) -> MessageOutcome:
    mint = TokenOperation("k", MINT, "EUR", 100, credit_wallet="w", refs=PaymentRefs("M"))
    return MessageOutcome("d" * 64, verdict, message_type, "M", transactions=tuple(
        TransactionOutcome(i, f"E{i}", None, status, operation=mint if status == "ACSC" else None,
                           reason=reason) for i, (status, reason) in enumerate(statuses)))


def test_a_batch_is_counted_by_type_outcome_operation_status_and_reason() -> None:
    metrics = WorkerMetrics()
    metrics.observe(tally(outcome("accepted", ("ACSC", None)), outcome("accepted", ("ACSC", None)),
                          outcome("partial", ("ACSC", None), ("RJCT", "AC04")),
                          outcome("refused", message_type=None)))
    metrics.observe(tally(outcome("accepted", ("ACSC", None))))
    metrics.observe(tally())
    sample = metrics.registry.get_sample_value
    assert sample("tokenbridge_messages_total", {"message_type": "pacs.008.001.08", "outcome": "accepted"}) == 3
    assert sample("tokenbridge_messages_total", {"message_type": "pacs.008.001.08", "outcome": "partial"}) == 1
    assert sample("tokenbridge_messages_total", {"message_type": "unknown", "outcome": "refused"}) == 1
    assert sample("tokenbridge_transactions_total", {"operation": "mint", "status": "ACSC", "reason": ""}) == 4
    assert sample("tokenbridge_transactions_total", {"operation": "none", "status": "RJCT", "reason": "AC04"}) == 1


def tally(*outcomes: MessageOutcome) -> OutcomeTally:
    counted = OutcomeTally()
    for one in outcomes:
        counted.add(one)
    return counted


def test_an_outcome_that_cannot_be_read_is_not_counted_and_spoils_nothing() -> None:
    counted = tally(outcome("accepted", ("ACSC", None)))
    with pytest.raises(AttributeError):
        counted.add(object())  # the worker dead-letters that message alone
    metrics = WorkerMetrics()
    metrics.observe(counted)
    assert metrics.registry.get_sample_value("tokenbridge_messages_total", {
        "message_type": "pacs.008.001.08", "outcome": "accepted"}) == 1
