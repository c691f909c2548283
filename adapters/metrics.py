"""Prometheus metrics of a worker process (prometheus_client), served on --metrics-port."""
from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from bridge.outcomes import MessageOutcome


class WorkerMetrics:
    """Messages by type and outcome, transactions by operation and reason, latency, backlog."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages = Counter("tokenbridge_messages_total", "Inbound messages processed",
                                ["message_type", "outcome"], registry=self.registry)
        self.transactions = Counter("tokenbridge_transactions_total", "Transactions processed",
                                    ["operation", "status", "reason"], registry=self.registry)
        self.latency = Histogram("tokenbridge_processing_seconds",
                                 "From delivery to ack, per message",
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1, 2.5, 5, 10), registry=self.registry)
        self.batch_phase = Histogram("tokenbridge_batch_phase_seconds",
                                     "Time a delivery batch spends in each phase of the worker's "
                                     "cycle: collect (first delivery to flush), pipeline (parse, "
                                     "ledger, commit), publish, confirm (broker confirms), ack; "
                                     "and mark: each transaction marking confirmed replies "
                                     "published (one per several batches)",
                                     ["phase"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                     registry=self.registry)
        self.batch_size = Histogram("tokenbridge_batch_messages", "Deliveries per batch",
                                    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
                                    registry=self.registry)
        self.outbox_backlog = Gauge("tokenbridge_outbox_backlog",
                                    "Replies committed but not yet confirmed by the broker",
                                    registry=self.registry)
        self.dead_lettered = Counter("tokenbridge_dead_lettered_total", "Messages dead-lettered",
                                     ["reason"], registry=self.registry)
        self.retried = Counter("tokenbridge_retried_total", "Messages sent to a retry queue",
                               registry=self.registry)
        self.follow_ups = Counter("tokenbridge_settlement_reports_total",
                                  "Follow-up pacs.002s published for settlements final after the "
                                  "answer (EVM: ACSC or RJCT)", registry=self.registry)
        self.settlement_failures = Counter("tokenbridge_settlement_failures_total",
                                           "Settlement rounds that failed (node or store "
                                           "unreachable); the next round resumes",
                                           registry=self.registry)
        self.chain_alerts = Counter("tokenbridge_chain_alerts_total",
                                    "What the chain did that needs an operator (EVM): chain_lost "
                                    "(the node no longer holds the tokens' chain: nothing is "
                                    "settled), confirmed_lost (an operation answered ACSC left the "
                                    "canonical chain in a reorg deeper than the confirmations)",
                                    ["alert"], registry=self.registry)

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)

    def observe(self, tally: OutcomeTally) -> None:
        """Count a batch's messages and transactions: one update per set of labels (a batch is
        mostly one type, one outcome), not one per message."""
        for labels, count in tally.messages.items():
            self.messages.labels(*labels).inc(count)
        for labels, count in tally.transactions.items():
            self.transactions.labels(*labels).inc(count)


class OutcomeTally:
    """A batch's messages and transactions by the labels they are counted under."""

    def __init__(self) -> None:
        self.messages: Tally[tuple] = Tally()
        self.transactions: Tally[tuple] = Tally()

    def add(self, outcome: MessageOutcome) -> None:
        """One message's outcome; raises, counting nothing, for one it cannot read."""
        message = (outcome.message_type or "unknown", outcome.verdict)
        transactions = [(tx.operation.kind if tx.operation else "none", tx.status, tx.reason or "")
                        for tx in outcome.transactions]
        self.messages[message] += 1
        self.transactions.update(transactions)
