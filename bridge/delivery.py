"""Delivery policy: what happens to an inbound message after the bus has handled it, whatever
the transport. At-least-once in, exactly-once effects (the inbox), replies from the outbox.

- answered and done: ack;
- can never succeed (not XML, not ISO 20022, unknown type, schema-invalid): answer where a
  pacs.008 can be identified, dead-letter with the reason, ack; never requeue forever;
- transient failure (store or ledger unreachable): retry later with back-off; past the last
  attempt, dead-letter.
"""
from __future__ import annotations

from dataclasses import dataclass

from bridge.codes import Verdict
from bridge.outcomes import MessageOutcome

_POISON_RULE_PREFIXES = ("xml.", "iso.", "xsd.", "header.")


def dead_letter_reason(outcome: MessageOutcome) -> str | None:
    """Why a processed message belongs in the dead-letter queue, or None when it does not.

    Business rejects (AC03, AM04, ...) are answers, not poison: they are not dead-lettered.
    """
    if outcome.verdict == Verdict.REFUSED:
        return outcome.summary or "refused"
    poison = [f for f in outcome.findings if f.rule.startswith(_POISON_RULE_PREFIXES)]
    if poison:
        return f"{poison[0].rule}: {poison[0]}"
    return None


def attempts_so_far(value: object) -> int:
    """The attempts a message's counter header says it has had; anything but a non-negative
    whole number (text like "abc", a float, a table, a bool) counts as absent: 0. A sender can
    only make its message look newer this way, and each retry writes the counter afresh."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()[:12])  # more digits than any real count: capped, not parsed
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off for transient failures: the delay before attempt n+1, None once exhausted."""

    delays_s: tuple[float, ...] = (1, 5, 15, 30, 60, 120)
    max_attempts: int = 7  # first try + len(delays_s) retries

    def delay_after(self, attempts: int) -> float | None:
        """Delay after `attempts` failed attempts; None means dead-letter now."""
        if attempts >= self.max_attempts:
            return None
        return self.delays_s[min(attempts, len(self.delays_s)) - 1]
