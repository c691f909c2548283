"""The translation table, reject reasons and idempotency keys (pure: no database)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.accounts import RegisteredAccount
from bridge.money import Amount
from bridge.operations import BURN, MINT, TRANSFER, Rejection, TokenOperation
from bridge.parties import AccountId, Agent, Party
from bridge.payments import CreditTransfer, GroupHeader
from bridge.translation import idempotency_key, translate

REGISTRY = {a.account: a for a in [
    RegisteredAccount("ALICE", "EUR", "w-alice"),
    RegisteredAccount("BRUNO", "EUR", "w-bruno"),
    RegisteredAccount("CHIYO", "JPY", "w-chiyo"),
    RegisteredAccount("DANA", "KWD", "w-dana"),
    RegisteredAccount("ERIK", "EUR", "w-erik", status="blocked"),
    RegisteredAccount("IVO", "EUR", "w-ivo", status="closed"),
    RegisteredAccount("OMNI", "EUR", None, kind="omnibus"),
]}
HEADER = GroupHeader("MSG-1", None, 1, instructing_agent=Agent(bic="BNPAFRPPXXX"))


def tx(debtor: str | None, creditor: str | None, amount: str = "10.00", currency: str = "EUR",
       uetr: str | None = "0b7e5b8c-1d3f-4a52-9c1e-2f6a7d8e9f01") -> CreditTransfer:
    def party(account):
        return Party("x", AccountId(other=account) if account else None)
    return CreditTransfer(0, "E2E-1", Amount(Decimal(amount), currency), party(debtor),
                          party(creditor), transaction_id="TX-1", uetr=uetr)


def run(transfer: CreditTransfer) -> TokenOperation | Rejection:
    return translate(transfer, HEADER, REGISTRY.get)


@pytest.mark.parametrize("debtor, creditor, kind, debit, credit", [
    ("FOREIGN", "ALICE", MINT, None, "w-alice"),
    ("ALICE", "BRUNO", TRANSFER, "w-alice", "w-bruno"),
    ("ALICE", "FOREIGN", BURN, "w-alice", None),
    (None, "ALICE", MINT, None, "w-alice"),
    ("OMNI", "ALICE", MINT, None, "w-alice"),  # the bank's reserve account is not a wallet
])
def test_translation_table(debtor, creditor, kind, debit, credit) -> None:
    operation = run(tx(debtor, creditor))
    assert isinstance(operation, TokenOperation)
    assert (operation.kind, operation.debit_wallet, operation.credit_wallet) == (kind, debit, credit)
    assert operation.amount == 1000 and operation.currency == "EUR"
    assert operation.refs.end_to_end_id == "E2E-1" and operation.refs.message_id == "MSG-1"


@pytest.mark.parametrize("debtor, creditor, reason", [
    ("FOREIGN", "OTHER", "AC03"),
    ("FOREIGN", "IVO", "AC04"),
    ("FOREIGN", "ERIK", "AC06"),
    ("ERIK", "ALICE", "AC06"),
    ("FOREIGN", "CHIYO", "AM03"),
])
def test_reject_reasons(debtor, creditor, reason) -> None:
    rejection = run(tx(debtor, creditor))
    assert isinstance(rejection, Rejection) and rejection.reason == reason and rejection.info


@pytest.mark.parametrize("amount, currency, creditor, units", [
    ("1250.50", "EUR", "ALICE", 125050), ("150000", "JPY", "CHIYO", 150000),
    ("12.345", "KWD", "DANA", 12345), ("0.01", "EUR", "ALICE", 1), ("7.1", "KWD", "DANA", 7100),
])
def test_amounts_are_exact_minor_units(amount, currency, creditor, units) -> None:
    assert run(tx("FOREIGN", creditor, amount, currency)).amount == units


@pytest.mark.parametrize("amount, currency, creditor, reason", [
    ("1.001", "EUR", "ALICE", "AM12"), ("1.5", "JPY", "CHIYO", "AM12"), ("0", "EUR", "ALICE", "AM01"),
])
def test_inexact_or_zero_amounts_are_rejected_never_rounded(amount, currency, creditor, reason) -> None:
    assert run(tx("FOREIGN", creditor, amount, currency)).reason == reason


def test_key_is_the_uetr_when_present() -> None:
    assert run(tx("FOREIGN", "ALICE")).key == "uetr:0b7e5b8c-1d3f-4a52-9c1e-2f6a7d8e9f01"


def test_key_without_uetr_is_a_stable_hash_of_sender_msgid_e2e_txid() -> None:
    first = idempotency_key(tx("FOREIGN", "ALICE", uetr=None), HEADER)
    assert first == idempotency_key(tx("FOREIGN", "ALICE", uetr=None), HEADER)
    assert first.startswith("sha256:")
    other_sender = GroupHeader("MSG-1", None, 1, instructing_agent=Agent(bic="BARCGB22XXX"))
    assert first != idempotency_key(tx("FOREIGN", "ALICE", uetr=None), other_sender)
    other_message = GroupHeader("MSG-2", None, 1, instructing_agent=Agent(bic="BNPAFRPPXXX"))
    assert first != idempotency_key(tx("FOREIGN", "ALICE", uetr=None), other_message)


def test_fingerprint_tells_same_content_from_different() -> None:
    a, b = run(tx("FOREIGN", "ALICE")), run(tx("FOREIGN", "ALICE"))
    c = run(tx("FOREIGN", "ALICE", amount="10.01"))
    assert a.key == c.key and a.fingerprint == b.fingerprint != c.fingerprint
