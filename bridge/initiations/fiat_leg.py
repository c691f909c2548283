"""The fiat leg of a payment to a creditor elsewhere: the burn takes the tokens out of
circulation here, and this credit transfer (an outgoing pacs.008) pays the creditor's bank on
the legacy rail. It is queued in the unit of work of the burn, so one never goes without the
other, and only when the burn is first applied (a replay applies nothing and sends nothing).

Its references are derived from the transaction's idempotency key, so a retry writes the same
payment: the UETR is the pain.001's where it gave one, else a UUID v4 made from the key; the
TxId is made from the key too.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

from bridge.money import Amount
from bridge.parties import Agent, Party
from bridge.payments.credit_transfer import CreditTransfer

FIAT_LEG_VERSION = "pacs.008.001.08"
"""The version of the outgoing pacs.008: 2019, the CBPR+ and most market infrastructures'."""

SETTLEMENT_METHOD = "INDA"
"""`SttlmMtd`: the instructed agent (the creditor's bank or the next on the rail) settles, on
the account it services for this bank."""

DEFAULT_CHARGE_BEARER = "SHAR"
"""`ChrgBr` (mandatory in a pacs.008) when the pain.001 does not say: each side pays its bank."""


def uetr_of(key: str) -> str:
    """A UUID v4 made from an idempotency key: the same key, the same UETR."""
    return str(uuid.UUID(bytes=hashlib.sha256(key.encode("utf-8")).digest()[:16], version=4))


def leg_uetr(tx: CreditTransfer, key: str) -> str:
    """The fiat leg's UETR: the pain.001's where it gave one, else one made from the key."""
    return (tx.uetr or uetr_of(key)).lower()


def transaction_id_of(key: str) -> str:
    """A TxId (Max35Text) made from an idempotency key."""
    return "TB" + hashlib.sha256(f"txid\x1f{key}".encode("utf-8")).hexdigest()[:30]


@dataclass(frozen=True, slots=True)
class FiatLeg:
    """One outgoing interbank credit transfer: from this bank (instructing agent and debtor's
    agent) to the creditor's agent, for the debtor whose tokens were burnt."""

    message_id: str
    uetr: str
    transaction_id: str
    end_to_end_id: str
    amount: Amount
    settlement_date: date
    issuer_bic: str  # this bank: InstgAgt and DbtrAgt
    debtor: Party
    creditor: Party
    creditor_agent: Agent
    instruction_id: str | None = None
    charge_bearer: str = DEFAULT_CHARGE_BEARER
    remittance: tuple[str, ...] = ()


def fiat_leg(tx: CreditTransfer, key: str, message_id: str, issuer_bic: str,
             settlement_date: date) -> FiatLeg:
    """The outgoing credit transfer paying `tx`'s creditor, whose payment has key `key`."""
    return FiatLeg(
        message_id=message_id, uetr=leg_uetr(tx, key),
        transaction_id=transaction_id_of(key), end_to_end_id=tx.end_to_end_id, amount=tx.amount,
        settlement_date=settlement_date, issuer_bic=issuer_bic, debtor=tx.debtor,
        creditor=tx.creditor, creditor_agent=tx.creditor_agent or Agent(),
        instruction_id=tx.instruction_id, charge_bearer=tx.charge_bearer or DEFAULT_CHARGE_BEARER,
        remittance=tx.remittance)


def routable(agent: Agent | None) -> bool:
    """Whether the legacy rail can reach the creditor's agent: named by BIC or member id."""
    return agent is not None and bool(agent.bic or agent.member_id)
