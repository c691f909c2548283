"""One input, read end to end: parse safely -> unwrap -> validate header and Document -> read the
payload into domain objects -> business rules. Every problem becomes a Finding; nothing raises."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from bridge.iso import camt053, camt056, pacs004, pacs008, pacs028
from bridge.iso.camt053 import read_statement_message
from bridge.iso.camt056 import read_cancellation_request
from bridge.iso.catalogue import SchemaCatalogue, message_type_of
from bridge.iso.envelope import EnvelopeError, unwrap
from bridge.iso.errors import UnsafeXmlError
from bridge.iso.findings import Finding
from bridge.iso.header import BusinessHeader, read_business_header
from bridge.iso.pacs008 import group_header_text, read_credit_transfer_message
from bridge.iso.pacs004 import read_payment_return
from bridge.iso.pacs028 import read_status_request
from bridge.iso.rules import check_credit_transfers, check_returns, check_statement_totals, check_statements
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES, parse_untrusted
from bridge.iso.validation import validate_element
from bridge.iso.xmlnav import Node
from bridge.cancellations.request import CancellationRequestMessage
from bridge.payments.credit_transfer import CreditTransferMessage
from bridge.returns.return_message import PaymentReturnMessage
from bridge.statements import StatementMessage
from bridge.status_requests.request import StatusRequestMessage

Payload = (CreditTransferMessage | StatementMessage | StatusRequestMessage | CancellationRequestMessage
           | PaymentReturnMessage)

_PAYLOAD_READERS: dict[str, tuple[Callable[[etree._Element], Any], Callable[[Any], list[Finding]]]] = {
    "pacs.008": (read_credit_transfer_message, check_credit_transfers),
    "camt.053": (read_statement_message, check_statements),
    "pacs.028": (read_status_request, lambda _: []),  # a question: no business rule to break
    "camt.056": (read_cancellation_request, lambda _: []),  # its rules are the handler's
    "pacs.004": (read_payment_return, check_returns),
}
"""Message families the bridge acts on. Others in the catalogue are validated, not acted on."""

_READ_VERSIONS: dict[str, frozenset[str]] = {"pacs.008": pacs008.SUPPORTED_VERSIONS,
                                             "camt.053": camt053.SUPPORTED_VERSIONS,
                                             "pacs.028": pacs028.SUPPORTED_VERSIONS,
                                             "camt.056": camt056.SUPPORTED_VERSIONS,
                                             "pacs.004": pacs004.SUPPORTED_VERSIONS}
"""The versions of each family the readers map; others (pacs.008.001.01) are validated only."""


@dataclass(slots=True)
class ReadMessage:
    """Everything the reader learned about one input."""

    envelope: str | None = None
    message_type: str | None = None  # from the Document namespace only
    header: BusinessHeader | None = None
    document: etree._Element | None = None
    payload: Payload | None = None
    document_valid: bool | None = None  # the official XSD's verdict on the Document
    header_valid: bool | None = None  # the official XSD's verdict on an ISO AppHdr
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """No finding at all: well-formed, schema-valid, and every business rule holds."""
        return not self.findings and self.document_valid is True

    @property
    def message_id(self) -> str | None:
        """GrpHdr/MsgId, what a reply answers to: the payload's; else, of schema-invalid input
        and a pacs.008.001.01 (validated, not applied), as far as the Document shows it. A
        camt.056 has no GrpHdr: its Assgnmt/Id."""
        if isinstance(self.payload, CreditTransferMessage):
            return self.payload.group_header.message_id
        if isinstance(self.payload, CancellationRequestMessage):
            return self.payload.assignment_id
        if isinstance(self.payload, (StatementMessage, StatusRequestMessage, PaymentReturnMessage)):
            return self.payload.message_id
        found = group_header_text(self.document, "MsgId")
        return found[:35] if found else None

    @property
    def created_at_text(self) -> str | None:
        """The GrpHdr/CreDtTm as written (a reply echoes it); of an unreadable message,
        as far as the Document shows it."""
        if isinstance(self.payload, CreditTransferMessage):
            return self.payload.group_header.created_at_text
        if isinstance(self.payload, (StatusRequestMessage, CancellationRequestMessage, PaymentReturnMessage)):
            return self.payload.created_at_text
        return group_header_text(self.document, "CreDtTm")

    @property
    def sender(self) -> str | None:
        """Who sent it: the AppHdr `Fr` BIC, else a pacs.008's or pacs.028's instructing agent, or a
        camt.056's assigner."""
        if self.header is not None and self.header.from_bic:
            return self.header.from_bic
        if isinstance(self.payload, CreditTransferMessage) and self.payload.group_header.instructing_agent:
            return self.payload.group_header.instructing_agent.bic
        if isinstance(self.payload, (StatusRequestMessage, PaymentReturnMessage)) and self.payload.instructing_agent:
            return self.payload.instructing_agent.bic
        if isinstance(self.payload, CancellationRequestMessage) and self.payload.assigner:
            return self.payload.assigner.bic
        return None


class MessageReader:
    """Reads untrusted bytes into a ReadMessage. Safe to reuse for many messages."""

    def __init__(self, catalogue: SchemaCatalogue | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, *, statement_totals: bool = False) -> None:
        self.catalogue = catalogue or SchemaCatalogue()
        self.max_bytes = max_bytes
        # A camt.053 that does not add up is a finding for `validate`; the pipeline reads it
        # as valid so that reconciliation answers with its `statement_inconsistent` break.
        self.statement_totals = statement_totals

    def read(self, data: bytes) -> ReadMessage:
        result = ReadMessage()
        try:
            root = parse_untrusted(data, max_bytes=self.max_bytes)
            envelope = unwrap(root)
        except UnsafeXmlError as exc:
            result.findings.append(Finding(str(exc), exc.rule, line=exc.line, column=exc.column,
                                           part="input"))
            return result
        except EnvelopeError as exc:
            result.envelope = exc.envelope
            result.findings.append(Finding(str(exc), exc.rule, line=exc.line, part="input"))
            return result
        result.envelope = envelope.description
        result.document = envelope.document
        result.message_type = envelope.message_type
        if envelope.header is not None and envelope.header_is_iso:
            self._read_header(envelope.header, result)
        self._read_document(envelope.document, result)
        return result

    def _read_header(self, element: etree._Element, result: ReadMessage) -> None:
        namespace = etree.QName(element).namespace
        if namespace not in self.catalogue:
            result.header_valid = False
            result.findings.append(Finding(f"no official XSD for header {message_type_of(namespace)}",
                                           "iso.unknown-header", line=element.sourceline,
                                           part="AppHdr"))
            return
        findings = validate_element(self.catalogue.schema(namespace), element, "AppHdr")
        result.header_valid = not findings
        result.findings.extend(findings)
        result.header = read_business_header(element)

    def _read_document(self, document: etree._Element, result: ReadMessage) -> None:
        namespace = etree.QName(document).namespace
        if namespace not in self.catalogue:
            result.document_valid = False
            result.findings.append(Finding(
                f"unsupported message {result.message_type}: no official XSD for it here",
                "iso.unknown-message", line=document.sourceline))
            return
        findings = validate_element(self.catalogue.schema(namespace), document, "Document")
        result.document_valid = not findings
        result.findings.extend(findings)
        self._check_header_agrees(result)
        family = (result.message_type or "")[:8]
        if findings or family not in _PAYLOAD_READERS:
            return
        versions = _READ_VERSIONS[family]
        if result.message_type.rsplit(".", 1)[-1] not in versions:
            result.findings.append(Finding(
                f"{result.message_type} is validated, not applied: the bridge applies "
                f"{family}.001.{min(versions)} to .{max(versions)}", "iso.version-not-applied",
                line=document.sourceline))
            return
        read, check = _PAYLOAD_READERS[family]
        try:
            result.payload = read(document)
        except Exception as exc:  # noqa: BLE001 - untrusted input must end as a finding, not a crash
            result.findings.append(Finding(f"cannot read {result.message_type}: "
                                           f"{type(exc).__name__}: {exc}", "iso.read",
                                           line=document.sourceline))
            return
        findings = check(result.payload)
        if self.statement_totals and isinstance(result.payload, StatementMessage) and not findings:
            findings = check_statement_totals(result.payload)
        node = Node(document, namespace)
        result.findings.extend(_with_line(f, node) for f in findings)

    @staticmethod
    def _check_header_agrees(result: ReadMessage) -> None:
        # Versions often differ between AppHdr and Document in real traffic; a different message
        # family (a header saying camt.053 over a pacs.008) means the header is not this message's.
        claimed = result.header.message_definition_id if result.header else None
        if claimed and result.message_type and claimed[:8] != result.message_type[:8]:
            result.findings.append(Finding(
                f"AppHdr MsgDefIdr {claimed} names another message than the Document "
                f"({result.message_type})", "header.msgdefidr", part="AppHdr"))


def _with_line(finding: Finding, document: Node) -> Finding:
    """Give a business-rule finding the line of the element its path names (or of its nearest
    ancestor there)."""
    if finding.line is not None or not finding.path:
        return finding
    steps = finding.path.removeprefix("/Document/").split("/")
    while steps:
        found = document.at_position("/".join(steps))
        if found is not None:
            return replace(finding, line=found.sourceline)
        steps.pop()
    return finding
