"""What handling a message came to: per transaction and for the whole message. The bus returns
them; delivery, metrics, the worker and `replay` read them."""
from __future__ import annotations

from dataclasses import dataclass

from bridge.codes import Status, Verdict
from bridge.iso.findings import Finding
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage
from bridge.operations import TokenOperation


@dataclass(frozen=True, slots=True)
class TransactionOutcome:
    index: int
    end_to_end_id: str | None
    uetr: str | None
    status: Status  # ACSC, ACSP or RJCT
    operation: TokenOperation | None = None
    result: str | None = None  # applied, replayed, planned (dry run), or None when rejected
    reason: str | None = None
    info: str | None = None


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    digest: str
    # A Verdict: accepted, partial, rejected (answered RJCT), refused (no pacs.002 possible),
    # breaks; of a message seen before, as its inbox record keeps it.
    verdict: str
    message_type: str | None = None
    message_id: str | None = None
    transactions: tuple[TransactionOutcome, ...] = ()
    reply: OutboundMessage | None = None
    findings: tuple[Finding, ...] = ()
    summary: str = ""
    seen_before: bool = False  # answered from the inbox: the same bytes were handled before


def refused(read: ReadMessage, digest: str, reason: str,
            message_id: str | None = None) -> MessageOutcome:
    """A message the bridge does not act on and cannot answer: its inbox record says why."""
    return MessageOutcome(digest, Verdict.REFUSED, read.message_type, message_id,
                          findings=tuple(read.findings), summary=f"refused: {reason}")


def not_acted_on(read: ReadMessage, digest: str) -> MessageOutcome:
    """A message of a family no handler takes, or unreadable: refused for its first finding."""
    what = read.message_type or "input"
    return refused(read, digest, read.findings[0].message if read.findings
                   else f"{what} is not a payment instruction this pipeline applies")
