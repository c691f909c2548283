"""The message families the bridge acts on, each with its handler. Another family (pacs.004,
camt.056, ...) is a handler module in the package of its use case and one line here (its reader
into domain objects is registered in bridge.iso.reader); a family not listed is refused (its
inbox record says why)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bridge.cancellations.handler import Cancellations
from bridge.config import BridgeConfig
from bridge.inbound import Handler
from bridge.payments.handler import CreditTransfers
from bridge.reconciliation.handler import StatementReconciliation
from bridge.returns.handler import PaymentReturnsIn
from bridge.status_requests.handler import StatusRequests

HANDLERS: Mapping[str, Callable[[BridgeConfig, Callable[[], datetime]], Handler]] = {
    "pacs.008": CreditTransfers,  # a payment: authorise, translate, apply, answer with a pacs.002
    "camt.053": StatementReconciliation,  # a statement: reconcile, answer with the report
    "pacs.028": StatusRequests,  # a status request: answer each transaction's status (pacs.002)
    "camt.056": Cancellations,  # a cancellation request: cancel what is not final, answer (camt.029)
    "pacs.004": PaymentReturnsIn,  # a return: reverse each original, answer with a pacs.002
}
"""Message family (the first 8 characters of the type) -> the handler's factory, given the
bank's configuration and the clock."""
