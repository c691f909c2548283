"""pacs.004, a payment return: authorise -> find each original -> reverse it -> answer with a
pacs.002 (its version by the return's release, RETURN_REPLY_VERSIONS).

    message rules and sender -> each transaction: its finding, its original (bridge.payments.
    originals), who may ask for its reversal (bridge.payments.authorisation), the return
    (bridge.returns.service: refusals, the running total, the reversal) -> the group status
    and the reply

Each return applies once: its reversal's key is derived from the original's key and the
return's id (RtrId, else the pacs.004's MsgId and the transaction's position), so the same
return resent (other bytes) replays, and the same RtrId with other content is refused AM05.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.codes import Reason, Status
from bridge.config import BridgeConfig
from bridge.inbound import Inbound
from bridge.iso.header import BusinessHeader
from bridge.iso.reader import ReadMessage
from bridge.money import CurrencyError
from bridge.operations import BURN, Rejection
from bridge.outcomes import MessageOutcome, TransactionOutcome
from bridge.payments.authorisation import authorise_credit_back, authorise_debit, authorise_senders
from bridge.payments.originals import Original, OriginalRefs, find_original
from bridge.payments.replies import answerable, group_status, message_rejection, status_report
from bridge.ports import RETURN_BY_MESSAGE, UnitOfWork
from bridge.returns.return_message import PaymentReturnMessage, ReturnedTransaction
from bridge.returns.service import ReturnRequest, apply_return
from bridge.status import TransactionStatus

Parties = list[tuple[str, str | None]]


class PaymentReturnsIn:
    """The pacs.004 handler (bridge.handlers)."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock
        self.reader = config.reader()  # re-reads originals from the inbox, with the bus's limits

    def prepare(self, uow: UnitOfWork, messages: Sequence[Inbound]) -> None:
        """Nothing to prepare: each return looks its original up as it goes."""

    def handle(self, message: Inbound, uow: UnitOfWork, *, dry_run: bool) -> MessageOutcome:
        read, digest = message.read, message.digest
        answer = answerable(read, digest, self.config.reply_versions)
        if isinstance(answer, MessageOutcome):
            return answer
        message_id, version = answer
        payload: PaymentReturnMessage | None = read.payload
        rejection = message_rejection(read) or (authorise_senders(
            return_parties(payload, read.header), read.header, self.config.authority,
            may="return payments"))
        if rejection is not None or payload is None:
            transactions = tuple(TransactionOutcome(tx.index, tx.end_to_end_id, tx.uetr, Status.REJECTED,
                                                    reason=rejection.reason, info=rejection.info)
                                 for tx in (payload.transactions if payload else ()))
            return self._answer(read, digest, message_id, version, transactions, rejection)
        transactions = tuple(self._transaction(read, tx, uow, dry_run) for tx in payload.transactions)
        return self._answer(read, digest, message_id, version, transactions, None)

    def _transaction(self, read: ReadMessage, tx: ReturnedTransaction, uow: UnitOfWork,
                     dry_run: bool) -> TransactionOutcome:
        ids = dict(index=tx.index, end_to_end_id=tx.end_to_end_id, uetr=tx.uetr)
        finding = next((f for f in read.findings if f.transaction == tx.index), None)
        if finding is not None:
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=finding.reason, info=finding.message)
        try:
            amount = tx.returned.to_minor()
        except CurrencyError as exc:  # beyond the ledger's range (precision is a rule's finding)
            return TransactionOutcome(**ids, status=Status.REJECTED, reason=Reason.NOT_ALLOWED_AMOUNT,
                                      info=str(exc))
        original = find_original(OriginalRefs(tx.instruction_id, tx.end_to_end_id, tx.transaction_id, tx.uetr),
                                 tx.original_message.message_id if tx.original_message else None,
                                 uow, self.reader)
        recorded = original.recorded if original is not None else None
        if recorded is not None:
            refused = self._authorise(recorded.operation.kind, original,
                                      return_parties(read.payload, read.header, tx))
            if refused is not None:
                return TransactionOutcome(**ids, status=Status.REJECTED, reason=refused.reason,
                                          info=refused.info)
        message: PaymentReturnMessage = read.payload
        request = ReturnRequest(return_id=tx.return_id or f"{message.message_id}/{tx.index + 1}",
                                reason=tx.reason, origin=RETURN_BY_MESSAGE, message_id=message.message_id,
                                amount=amount, currency=tx.returned.currency)
        outcome = apply_return(uow, recorded, request, dry_run=dry_run)
        return TransactionOutcome(**ids, status=outcome.status, operation=outcome.operation,
                                  result=outcome.result, reason=outcome.reason, info=outcome.info)

    def _authorise(self, kind: str, original: Original, parties: Parties) -> Rejection | None:
        """A reversal debiting the wallet the original credited (of a mint or a transfer) comes
        through the issuer's own channel; crediting a burn back, from the issuer or the bank the
        payment went to (its creditor agent)."""
        what = f"return of a {kind}"
        if kind != BURN:
            return authorise_debit(what, parties, self.config.authority)
        paid_to = original.transaction.creditor_agent
        return authorise_credit_back(what, parties, paid_to.bic if paid_to else None, self.config.authority)

    def _answer(self, read: ReadMessage, digest: str, message_id: str, version: str,
                transactions: tuple[TransactionOutcome, ...], rejection: Rejection | None) -> MessageOutcome:
        group, verdict = group_status(transactions, rejection)
        payload: PaymentReturnMessage | None = read.payload
        by_index = {tx.index: tx for tx in payload.transactions} if payload else {}
        # Each TxInfAndSts names the return by its RtrId (OrgnlTxId) and the original it returns.
        statuses = tuple(TransactionStatus(
            status=t.status, original_end_to_end_id=t.end_to_end_id,
            original_instruction_id=by_index[t.index].instruction_id if t.index in by_index else None,
            original_transaction_id=by_index[t.index].return_id if t.index in by_index else None,
            original_uetr=t.uetr, reason=t.reason, additional_info=t.info) for t in transactions)
        reply = status_report(read, message_id, version, statuses, group, self.config, self.clock(), rejection)
        rejected = [t for t in transactions if t.status == Status.REJECTED]
        reasons = sorted({t.reason for t in rejected if t.reason} | ({rejection.reason} if rejection else set()))
        summary = (f"{group}: {len(transactions) - len(rejected)} of {len(transactions)} returns applied"
                   + (f"; refused {', '.join(reasons)}" if reasons else ""))
        return MessageOutcome(digest, verdict, read.message_type, message_id, transactions, reply,
                              tuple(read.findings), summary)


def return_parties(message: PaymentReturnMessage | None, header: BusinessHeader | None,
                   tx: ReturnedTransaction | None = None) -> Parties:
    """Who says they sent the return (or transaction `tx` of it): the AppHdr `Fr`, the group's
    instructing agent, the transactions' own; (where, BIC or None)."""
    parties: Parties = [("AppHdr/Fr", header.from_bic)] if header is not None else []
    if message is None:
        return parties
    if message.instructing_agent is not None:
        parties.append(("GrpHdr/InstgAgt", message.instructing_agent.bic))
    for each in ((tx,) if tx is not None else message.transactions):
        if each.instructing_agent is not None and each.instructing_agent != message.instructing_agent:
            parties.append((f"TxInf[{each.index + 1}]/InstgAgt", each.instructing_agent.bic))
    return parties
