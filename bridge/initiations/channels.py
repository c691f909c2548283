"""Who may initiate what: a corporate customer's channel debits its own accounts, and only them.

- The channel is named by the AppHdr `Fr/OrgId` (its Othr/Id, else AnyBIC, else LEI) where the
  message has an AppHdr naming an organisation, else by the initiating party's organisation id
  (`GrpHdr/InitgPty/Id/OrgId`).
- A channel may send pain.001 when `TOKENBRIDGE_CORPORATE_SENDERS` lists it (none listed: no
  corporate may); and the message must be addressed to the issuer (the payments' rule).
- The registry's `group` ties accounts to a customer: the group IS the channel id. A debtor
  account belongs to the channel when its group equals the channel id.

Ids are compared as people type them: outer whitespace dropped, inner runs as one space, case
ignored (`channel_name`).
"""
from __future__ import annotations

from bridge.accounts import RegisteredAccount
from bridge.codes import Reason
from bridge.initiations.initiation import PaymentInitiation
from bridge.iso.header import BusinessHeader
from bridge.operations import Rejection
from bridge.payments.authorisation import Authority, authorise_addressee
from bridge.payments.keys import transaction_keys

CHANNEL_KEY_PREFIX = "corporate:"
"""Stands for the instructing agent in a pain.001 transaction's key (payments.keys): a MsgId and
EndToEndId are unique per corporate only."""


def channel_name(identifier: str | None) -> str | None:
    """A channel id or group as compared: folded whitespace, upper case; None when empty."""
    folded = " ".join((identifier or "").split()).upper()
    return folded or None


def channel_of(header: BusinessHeader | None, message: PaymentInitiation | None) -> str | None:
    """The corporate channel that sent a pain.001: the AppHdr's `Fr/OrgId`, else the initiating
    party's organisation id; None when neither names one."""
    sender = header.from_party if header is not None else None
    if sender is not None and sender.organisation:
        named = sender.other_id or sender.bic or sender.lei
        if named:
            return named
    return message.initiating_party.identifier if message is not None else None


def authorise_channel(channel: str | None, header: BusinessHeader | None,
                      authority: Authority) -> Rejection | None:
    """The message-level rule: None when a listed corporate channel sent it to the issuer, else
    an AG01."""
    if channel is None:
        return Rejection(Reason.TRANSACTION_FORBIDDEN, "channel unknown: neither AppHdr Fr/OrgId nor "
                                                       "InitgPty/Id/OrgId names the corporate")
    if channel_name(channel) not in {channel_name(c) for c in authority.corporate_senders}:
        return Rejection(Reason.TRANSACTION_FORBIDDEN,
                         f"channel {channel} is not a corporate channel allowed to initiate "
                         f"payments (TOKENBRIDGE_CORPORATE_SENDERS)")
    return authorise_addressee(header, authority)


def authorise_debit(channel: str, account: RegisteredAccount) -> Rejection | None:
    """A corporate debits only its own accounts: the debtor account's group is the channel."""
    if account.group is not None and channel_name(account.group) == channel_name(channel):
        return None
    return Rejection(Reason.TRANSACTION_FORBIDDEN,
                     f"debtor account {account.account} is not one of {channel}'s accounts: a "
                     f"corporate may debit its own accounts only")


def initiation_keys(message: PaymentInitiation, channel: str | None) -> list[str]:
    """The idempotency key of each transaction, by the payments' rules with the channel in the
    instructing agent's place: `uetr:<UETR>` where given, else a hash of channel, MsgId,
    EndToEndId (and InstrId or position where those repeat)."""
    return transaction_keys(message.as_credit_transfers(), f"{CHANNEL_KEY_PREFIX}{channel or ''}")
