"""What handling a message came to: per transaction and for the whole message. The bus returns
them; delivery, metrics, the worker and `replay` read them."""
from __future__ import annotations

from dataclasses import dataclass

from bridge.codes import Reason, Status, Verdict
from bridge.iso.findings import Finding
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage
from bridge.operations import TokenOperation


@dataclass(frozen=True, slots=True)
class TransactionOutcome:
    index: int
    end_to_end_id: str | None
    uetr: str | None
    status: str  # a Status (ACSC, ACSP, RJCT); of a camt.056, a CancellationStatus (ACCR, RJCR, PDCR)
    operation: TokenOperation | None = None
    result: str | None = None  # applied, replayed, planned (dry run), or None when rejected
    reason: str | None = None
    info: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message was refused, as its admi.002 message reject tells the sender."""

    code: str  # RjctgPtyRsn: the ISO reason (FF01 unreadable, AG03 not acted on, AG01 not allowed)
    text: str
    location: str | None = None  # line and column, path, or part of the input
    rule: str | None = None  # the finding's stable rule id, when a finding is the reason


# Findings that say the input is ISO 20022 but of a type or version the bridge does not act on.
_NOT_ACTED_ON_RULES = frozenset({"iso.unknown-message", "iso.version-not-applied"})


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
    refusal: Refusal | None = None  # of a refused message answered by an admi.002: why
    # Messages the bridge sends because of this one, besides its reply (a follow-up pacs.002, a
    # pacs.004, an outgoing pacs.008, notifications): queued in the same unit of work as its
    # effects, after the reply, in this order. Of a message seen before: none (sent the first time).
    emitted: tuple[OutboundMessage, ...] = ()


def refused(read: ReadMessage, digest: str, reason: str,
            message_id: str | None = None, code: str | None = Reason.INVALID_FILE_FORMAT,
            finding: Finding | None = None) -> MessageOutcome:
    """A message the bridge does not act on and cannot answer in its own family's reply (no
    pacs.002 nor report): its inbox record says why, and so does the admi.002 the bus answers
    with (`code`, and the `finding` when one is the reason); `code` None: no admi.002 (a
    message read and understood, refused for its business, e.g. a statement's sender)."""
    location = None
    if finding is not None:
        location = (f"line {finding.line}" + (f":{finding.column}" if finding.column is not None else "")
                    if finding.line else finding.path or finding.part)
    return MessageOutcome(digest, Verdict.REFUSED, read.message_type, message_id,
                          findings=tuple(read.findings), summary=f"refused: {reason}",
                          refusal=Refusal(code, reason, location, finding.rule if finding else None)
                          if code is not None else None)


def not_acted_on(read: ReadMessage, digest: str, message_id: str | None = None) -> MessageOutcome:
    """A message of a family no handler takes, or unreadable: refused for its first finding."""
    what = read.message_type or "input"
    if not read.findings:
        return refused(read, digest, f"{what} is not a payment instruction this pipeline applies",
                       message_id, code=Reason.TRANSACTION_NOT_SUPPORTED)
    first = read.findings[0]
    code = Reason.TRANSACTION_NOT_SUPPORTED if first.rule in _NOT_ACTED_ON_RULES else first.reason
    return refused(read, digest, first.message, message_id, code=code, finding=first)
