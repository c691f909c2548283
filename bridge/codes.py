"""The codes the bridge speaks, each spelled once: ISO 20022 status reasons, payment statuses, and
the verdict the bridge gives a whole message.

They are `StrEnum`s: a member is its code, so it compares equal to, formats, serialises (JSON,
XML, the store) and sorts as the very string it stands for.
"""
from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """ISO 20022 ExternalStatusReason1Code: why a transaction or a message is rejected. Members
    are named as ISO names the code."""

    INCORRECT_ACCOUNT_NUMBER = "AC01"  # an IBAN with a bad structure or check digits
    INVALID_CREDITOR_ACCOUNT_NUMBER = "AC03"  # neither side is an account of ours
    CLOSED_ACCOUNT_NUMBER = "AC04"
    BLOCKED_ACCOUNT = "AC06"
    # The account exists but its type cannot take part in a payment (the bank's reserve or a
    # ledger book): not AC02/AC03, the number is valid.
    INVALID_DEBTOR_ACCOUNT_TYPE = "AC13"
    INVALID_CREDITOR_ACCOUNT_TYPE = "AC14"
    TRANSACTION_FORBIDDEN = "AG01"  # the sender may not cause this, or it is not addressed to us
    TRANSACTION_NOT_SUPPORTED = "AG03"
    # A status request names a payment the bridge never received (EPC SCT Inst answers an
    # unmatched pacs.028 so): no other ExternalStatusReason1Code says "no such original".
    PAYMENT_NOT_RECEIVED = "AG09"  # a payment from a wallet to itself moves nothing
    ZERO_AMOUNT = "AM01"
    NOT_ALLOWED_AMOUNT = "AM02"  # beyond the largest amount, balance or supply the ledger holds
    NOT_ALLOWED_CURRENCY = "AM03"
    INSUFFICIENT_FUNDS = "AM04"
    DUPLICATION = "AM05"  # a key or payment seen before with other content; ids repeated
    # A return for more than is left of its original (what was paid less what came back).
    WRONG_AMOUNT = "AM09"
    INVALID_CONTROL_SUM = "AM10"
    INVALID_TRANSACTION_CURRENCY = "AM11"
    INVALID_AMOUNT = "AM12"
    INVALID_NUMBER_OF_TRANSACTIONS = "AM18"
    ALREADY_RETURNED = "ARDT"  # AlreadyReturnedTransaction: nothing is left of the original
    INVALID_FILE_FORMAT = "FF01"  # any XML or XSD failure, and an unreadable message
    BANK_IDENTIFIER_INCORRECT = "RC01"
    NOT_SPECIFIED_AGENT = "MS03"  # NotSpecifiedReasonAgentGenerated: a technical reject we cannot name
    # OrderCancelled: the follow-up pacs.002 of a payment cancelled on request (camt.056) before
    # it took effect.
    ORDER_CANCELLED = "DS02"


class Status(StrEnum):
    """A payment's status as a pacs.002 reports it (`TxSts`, `GrpSts`); all exist in every
    pacs.002 version the bridge writes."""

    ACCEPTED_SETTLEMENT_COMPLETED = "ACSC"
    ACCEPTED_SETTLEMENT_IN_PROCESS = "ACSP"  # on-chain transaction submitted, awaiting finality
    REJECTED = "RJCT"
    PARTIALLY_ACCEPTED = "PART"  # group status: some transactions settled, some were rejected


class CancellationStatus(StrEnum):
    """CancellationIndividualStatus1Code: a transaction's answer in a camt.029 (`TxCxlSts`)."""

    ACCEPTED = "ACCR"  # cancelled: it never takes effect
    REJECTED = "RJCR"  # not cancelled (the reason says why)
    PENDING = "PDCR"  # asked of the ledger; a follow-up camt.029 gives the outcome


class Confirmation(StrEnum):
    """InvestigationExecutionConfirmation: a camt.029's status for the whole request
    (`Sts/Conf`); a closed list to camt.029.001.07, external codes after, the same codes."""

    CANCELLED = "CNCL"
    REJECTED = "RJCR"
    PENDING = "PDCR"
    PARTIALLY_EXECUTED = "PECR"  # some transactions cancelled, others not


class CancellationRejection(StrEnum):
    """ExternalPaymentCancellationRejection1Code: why a cancellation is refused
    (`CxlStsRsnInf/Rsn/Cd`)."""

    # The payment is settled, final on the ledger: the bank (agent) cannot undo it; a return
    # (pacs.004) can. The list has no "already settled"; AgentDecision is the closest.
    AGENT_DECISION = "AGNT"
    ALREADY_RETURNED = "ARDT"
    INSUFFICIENT_FUNDS = "AM04"  # returning it (the policy) would overdraw the wallet
    NO_ORIGINAL = "NOOR"  # NoOriginalTransactionReceived


class Verdict(StrEnum):
    """What the bridge made of a whole inbound message, as its inbox record, logs and metrics
    keep it."""

    ACCEPTED = "accepted"  # every transaction accepted; a statement reconciled clean
    PARTIAL = "partial"  # some transactions accepted, some rejected
    REJECTED = "rejected"  # answered, every transaction rejected (a pacs.002 RJCT)
    REFUSED = "refused"  # not acted on and not answerable (no pacs.002 possible)
    BREAKS = "breaks"  # a statement reconciled with breaks
