"""camt.054 notifications of settled operations: each account an operation touched gets its
own message (a customer channel receives its customer's, and nobody else's): a mint credits the
creditor's account, a burn debits the debtor's, a transfer debits one and credits the other.
Operations settled together (one inbound message, one settlement round) that touch the same
account are entries of one message to it.

Each entry is booked as the statements book it (bridge.statements_out.journal.posting_entry),
written straight from the posting (bridge.notifications.camt054):
BOOK, booking date and time, value date, AcctSvcrRef = the ledger's reference of the operation,
the bank transaction code, and the payment's references (MsgId, InstrId, EndToEndId, UETR, TxId)
with the wallets on either side and their accounts. A wallet the registry has no account for
is not notified (no customer to tell)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import structlog

from bridge.accounts import RegisteredAccount
from bridge.codes import Status
from bridge.config import BridgeConfig
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.messages import OutboundMessage, new_message_id
from bridge.operations import TokenOperation
from bridge.notifications.camt054 import NotificationWriter, UnitFormats
from bridge.notifications.ledger import settled_in
from bridge.ports import AccountRegistry, Posting, UnitOfWork, issuance_holder
from bridge.settlement.changes import SettlementChange

log = structlog.get_logger("tokenbridge.notifications")

DEFAULT_VERSION = NOTIFICATION.default_version

Settled = tuple[TokenOperation, datetime]
"""An operation and when it settled (its booking time)."""


def wallet_postings(operation: TokenOperation, booked_at: datetime) -> list[Posting]:
    """The legs of an operation on wallets, the debit first (the issuance account's leg is the
    supply's, not a customer's)."""
    currency, amount = operation.currency, operation.amount
    debit = operation.debit_wallet or issuance_holder(currency)
    credit = operation.credit_wallet or issuance_holder(currency)
    legs = [(debit, credit, -amount)] if operation.debit_wallet else []
    if operation.credit_wallet:
        legs.append((credit, debit, amount))
    return [Posting(0, operation.key, operation.kind, holder, other, currency, signed, booked_at,
                    operation.refs) for holder, other, signed in legs]


class Notifications:
    """Writes the camt.054s of settled operations, in `version`, as the bank `servicer_bic`."""

    def __init__(self, version: str = DEFAULT_VERSION, servicer_bic: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.writer = NotificationWriter(version, servicer_bic)
        self.version = self.writer.version
        self.clock = clock

    def of(self, settled: Sequence[Settled], accounts: AccountRegistry) -> list[OutboundMessage]:
        """One camt.054 per registered account `settled` touched, its entries in the order
        settled; correlated with the first entry's original message (its MsgId)."""
        registered: dict[tuple[str, str], RegisteredAccount | None] = {}

        def account_of(wallet: str, currency: str) -> RegisteredAccount | None:
            if (wallet, currency) not in registered:
                registered[wallet, currency] = accounts.of_wallet(wallet, currency)
            return registered[wallet, currency]

        per_account: dict[str, tuple[RegisteredAccount, list[Posting]]] = {}
        for operation, booked_at in settled:
            for posting in wallet_postings(operation, booked_at):
                account = account_of(posting.holder, posting.currency)
                if account is None:
                    log.info("not notified: no account for the wallet", wallet=posting.holder,
                             currency=posting.currency, key=operation.key)
                    continue
                if operation.debit_wallet and operation.credit_wallet:  # a wallet on the other side
                    account_of(posting.counterparty, posting.currency)
                per_account.setdefault(account.account, (account, []))[1].append(posting)
        named = {wallet: account for (wallet, _), account in registered.items() if account is not None}
        formats = UnitFormats(self.writer.number)  # this unit's only
        return [self._message(account, postings, named, formats)
                for account, postings in per_account.values()]

    def of_changes(self, changes: Sequence[SettlementChange], accounts: AccountRegistry,
                   now: datetime) -> list[OutboundMessage]:
        """The camt.054s of a settlement round (a chain's): of the operations that became
        final (ACSC), booked when they settled; one that failed (RJCT) is notified nothing."""
        return self.of([(c.operation, c.settled_at or now) for c in changes
                        if c.new_status == Status.ACCEPTED_SETTLEMENT_COMPLETED], accounts)

    def _message(self, account: RegisteredAccount, postings: list[Posting],
                 named: dict[str, RegisteredAccount], formats: UnitFormats) -> OutboundMessage:
        message_id = new_message_id()
        created = self.clock() if self.clock else postings[-1].posted_at
        body = self.writer.write(message_id, created, account, postings, named, formats)
        return OutboundMessage(message_id, postings[0].refs.message_id, self.version, body)


def configured(config: BridgeConfig, clock: Callable[[], datetime]) -> Notifications | None:
    """The bank's notifications (None when they are off)."""
    if not config.notifications:
        return None
    return Notifications(config.notification_version, config.issuer_bic, clock)


@contextmanager
def notified(uow: UnitOfWork, notifications: Notifications | None,
             now: Callable[[], datetime]) -> Iterator[None]:
    """For a use case run outside the bus (an operator's return, from the command line or the
    console): what `uow.ledger` settles within the block is notified, its camt.054s queued in
    `uow.outbox` when the block ends, to commit (or roll back) with the operations."""
    if notifications is None:
        yield
        return
    with settled_in(uow) as settled:
        yield
    booked_at = now()
    for notice in notifications.of([(op, booked_at) for op in settled], uow.accounts):
        uow.outbox.add(notice)
