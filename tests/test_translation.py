"""The translation table, reject reasons, idempotency keys, who an account is and the parties a
payment may not have (pure: no database)."""
from __future__ import annotations

from decimal import Decimal

import hashlib

import pytest

from bridge.accounts import RegisteredAccount
from bridge.money import Amount
from bridge.operations import BURN, MINT, TRANSFER, Rejection, TokenOperation
from bridge.parties import AccountId, Agent, Party
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader
from bridge.payments.translation import transaction_keys, translate_message

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


def message(*transfers: CreditTransfer, header: GroupHeader = HEADER) -> CreditTransferMessage:
    numbered = [CreditTransfer(**{**{f: getattr(t, f) for f in t.__slots__}, "index": i})
                for i, t in enumerate(transfers)]
    return CreditTransferMessage("pacs.008.001.08", header, tuple(numbered))


def run(transfer: CreditTransfer, issuer_bic: str | None = None) -> TokenOperation | Rejection:
    return translate_message(message(transfer), REGISTRY.get, issuer_bic)[0]


def key_of(transfer: CreditTransfer, header: GroupHeader = HEADER) -> str:
    return transaction_keys(message(transfer, header=header))[0]


@pytest.mark.parametrize("debtor, creditor, kind, debit, credit", [
    ("FOREIGN", "ALICE", MINT, None, "w-alice"),
    ("ALICE", "BRUNO", TRANSFER, "w-alice", "w-bruno"),
    ("ALICE", "FOREIGN", BURN, "w-alice", None),
    (None, "ALICE", MINT, None, "w-alice"),
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
    ("OMNI", "ALICE", "AC13"),  # the bank's reserve is never a payment's debtor (it minted)...
    ("ALICE", "OMNI", "AC14"),  # ... nor its creditor (it burned)
    ("FOREIGN", "OMNI", "AC14"),
    ("OMNI", "FOREIGN", "AC13"),
    ("ALICE", "ALICE", "AG03"),  # a wallet never pays itself
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
    first = key_of(tx("FOREIGN", "ALICE", uetr=None))
    assert first == key_of(tx("FOREIGN", "ALICE", uetr=None))
    assert first.startswith("sha256:")
    other_sender = GroupHeader("MSG-1", None, 1, instructing_agent=Agent(bic="BARCGB22XXX"))
    assert first != key_of(tx("FOREIGN", "ALICE", uetr=None), other_sender)
    other_message = GroupHeader("MSG-2", None, 1, instructing_agent=Agent(bic="BNPAFRPPXXX"))
    assert first != key_of(tx("FOREIGN", "ALICE", uetr=None), other_message)


def test_fingerprint_tells_same_content_from_different() -> None:
    a, b = run(tx("FOREIGN", "ALICE")), run(tx("FOREIGN", "ALICE"))
    c = run(tx("FOREIGN", "ALICE", amount="10.01"))
    assert a.key == c.key and a.fingerprint == b.fingerprint != c.fingerprint


# -- keys: two transactions never share one; a message keeps its keys -----------------------

def _today(transfer: CreditTransfer, header: GroupHeader = HEADER) -> str:
    """The key formula of every release before this one (upgrade safety pins it)."""
    sender = header.instructing_agent.bic
    material = "\x1f".join((sender, header.message_id, transfer.end_to_end_id, transfer.transaction_id or ""))
    return "sha256:" + hashlib.sha256(material.encode()).hexdigest()


def not_provided(amount: str = "10.00", instruction: str | None = None, txid: str | None = None) -> CreditTransfer:
    """A transaction named only by EndToEndId NOTPROVIDED: no UETR, no TxId (allowed from .08)."""
    return CreditTransfer(0, "NOTPROVIDED", Amount(Decimal(amount), "EUR"), Party("x", None),
                          Party("x", AccountId(other="ALICE")), instruction_id=instruction,
                          transaction_id=txid)


@pytest.mark.parametrize("transfers", [
    [not_provided("10.00"), not_provided("20.00")],
    [not_provided("10.00"), not_provided("10.00")],  # even identical content: two payments
    [not_provided(instruction="I-1"), not_provided(instruction="I-2"), not_provided(instruction="I-1"),
     not_provided(), not_provided()],
])
def test_transactions_of_one_message_never_share_a_key(transfers) -> None:
    keys = transaction_keys(message(*transfers))
    assert len(set(keys)) == len(transfers)
    assert keys == transaction_keys(message(*transfers))  # the message resent: the same keys


def test_keys_today_formula_tells_apart_stay_byte_identical() -> None:
    """A message applied before this rule, replayed after it, must not mint twice."""
    transfers = [not_provided(txid="T-1"), not_provided(txid="T-2"),
                 CreditTransfer(0, "E2E-9", Amount(Decimal("1.00"), "EUR"), Party(), Party())]
    keys = transaction_keys(message(*transfers))
    assert keys == [_today(t) for t in transfers]


def test_of_colliding_transactions_the_first_keeps_todays_key_later_ones_their_instrid_or_position() -> None:
    transfers = [not_provided(instruction="I-1"), not_provided(instruction="I-2"), not_provided()]
    first, second, third = transaction_keys(message(*transfers))
    assert first == _today(transfers[0])  # the one today's ledger applied under that key
    assert second != _today(transfers[1]) and third != _today(transfers[2])
    # InstrId alone tells the second apart: moving it keeps its key; the third needs its position.
    moved = transaction_keys(message(transfers[0], not_provided(), transfers[1]))
    assert moved[2] == second and moved[1] != third


def test_key_is_the_uetr_even_when_other_ids_collide() -> None:
    with_uetr = CreditTransfer(0, "NOTPROVIDED", Amount(Decimal("1.00"), "EUR"), Party(), Party(),
                               uetr="0b7e5b8c-1d3f-4a52-9c1e-2f6a7d8e9f01")
    keys = transaction_keys(message(not_provided(), with_uetr, not_provided()))
    assert keys[1] == "uetr:0b7e5b8c-1d3f-4a52-9c1e-2f6a7d8e9f01" and len(set(keys)) == 3


# -- who an account is ----------------------------------------------------------------------

IBAN_ALICE, IBAN_BRUNO = "DE82500199000417283905", "DE17500199000602517730"
IDENTIFIED = {a.account: a for a in [
    RegisteredAccount(IBAN_ALICE, "EUR", "w-alice"),
    RegisteredAccount(IBAN_BRUNO, "EUR", "w-bruno"),
    RegisteredAccount("ACC-7", "EUR", "w-carl", scheme="Cd:BBAN"),
    RegisteredAccount("TKN-8", "EUR", "w-dora", scheme="Prtry:TOKENBANK", issuer="TOKENBANK AG"),
    RegisteredAccount("TOKN-OMNI-EUR", "EUR", None, kind="omnibus", scheme="Prtry:TOKENBANK"),
]}


def between(debtor: AccountId | None, creditor: AccountId | None, *, debtor_bic: str | None = None,
            creditor_bic: str | None = None, issuer_bic: str | None = "TOKNDEFFXXX"):
    transfer = CreditTransfer(0, "E2E-1", Amount(Decimal("5.00"), "EUR"), Party("d", debtor),
                              Party("c", creditor), transaction_id="TX-1",
                              debtor_agent=Agent(bic=debtor_bic) if debtor_bic else None,
                              creditor_agent=Agent(bic=creditor_bic) if creditor_bic else None)
    return translate_message(message(transfer), IDENTIFIED.get, issuer_bic)[0]


def iban(text: str) -> AccountId:
    return AccountId(iban=text)


@pytest.mark.parametrize("written", [
    IBAN_ALICE.lower(), "de82 5001 9900 0417 2839 05", " DE82500199000417283905 ", "De82500199000417283905"])
def test_a_registered_iban_is_recognised_in_any_case_and_spacing(written) -> None:
    operation = between(iban(written), iban(IBAN_BRUNO))
    assert (operation.kind, operation.debit_wallet, operation.credit_wallet) == (TRANSFER, "w-alice", "w-bruno")


@pytest.mark.parametrize("account, ours", [
    (AccountId(other="ACC-7", scheme="BBAN"), True),
    (AccountId(other="acc-7", scheme=" bban"), True),  # codes compare case-insensitively
    (AccountId(other="ACC-7", scheme="BBAN", proprietary=True), False),  # Prtry BBAN is not Cd BBAN
    (AccountId(other="ACC-7", scheme="CUID"), False),
    (AccountId(other="ACC-7"), False),  # the registry says it has a scheme
    (AccountId(other="ACC-7", scheme="BBAN", issuer="SOMEBANK"), False),
    (AccountId(other="TKN-8", scheme="TokenBank", proprietary=True, issuer="TokenBank  AG"), True),
    (AccountId(other="TKN-8", scheme="TOKENBANK", proprietary=True), False),  # issuer missing
    (AccountId(other="TKN-8", scheme="TOKENBANK", proprietary=True, issuer="OTHER AG"), False),
    (AccountId(other=IBAN_ALICE), True),  # an IBAN sent as a bare Othr/Id is that IBAN
    (AccountId(other=IBAN_ALICE, scheme="IBAN", proprietary=True), False),
])
def test_an_othr_id_matches_only_with_its_scheme_and_issuer(account, ours) -> None:
    operation = between(iban("FR7630006000011234567890189"), account)
    if ours:
        assert operation.kind == MINT
    else:
        assert isinstance(operation, Rejection) and operation.reason == "AC03"


@pytest.mark.parametrize("creditor_bic, issuer_bic, kind", [
    ("TOKNDEFFXXX", "TOKNDEFFXXX", TRANSFER),
    ("TOKNDEFF", "TOKNDEFFXXX", TRANSFER),  # BIC8 is the bank's BIC11 XXX
    ("TOKNDEFF123", "TOKNDEFFXXX", TRANSFER),  # a branch of this bank
    ("BNPAFRPPXXX", "TOKNDEFFXXX", BURN),  # our id at another bank: a look-alike, not ours
    ("BNPAFRPPXXX", None, TRANSFER),  # no issuer configured: no agent check
    (None, "TOKNDEFFXXX", TRANSFER),  # no agent named on that side
])
def test_an_account_whose_side_names_another_bank_is_not_ours(creditor_bic, issuer_bic, kind) -> None:
    operation = between(iban(IBAN_ALICE), iban(IBAN_BRUNO), debtor_bic="TOKNDEFFXXX",
                        creditor_bic=creditor_bic, issuer_bic=issuer_bic)
    assert operation.kind == kind


def test_a_debtor_at_another_bank_is_not_ours_either() -> None:
    operation = between(iban(IBAN_ALICE), iban(IBAN_BRUNO), debtor_bic="BNPAFRPPXXX",
                        creditor_bic="TOKNDEFFXXX")
    assert (operation.kind, operation.debit_wallet, operation.credit_wallet) == (MINT, None, "w-bruno")


def test_the_omnibus_named_by_its_othr_id_is_refused_as_a_party() -> None:
    omnibus = AccountId(other="tokn-omni-eur", scheme="TOKENBANK", proprietary=True)
    for debtor, creditor, reason in ((omnibus, iban(IBAN_ALICE), "AC13"), (iban(IBAN_ALICE), omnibus, "AC14")):
        rejection = between(debtor, creditor)
        assert isinstance(rejection, Rejection) and rejection.reason == reason
        assert "omnibus" in rejection.info


def test_a_registry_row_on_a_ledger_book_is_never_a_party() -> None:
    """A registry imported before reserved names were refused may still hold one."""
    books = {"ALICE": RegisteredAccount("ALICE", "EUR", "w-alice"),
             "BOOK": RegisteredAccount("BOOK", "EUR", "issuance:EUR")}
    transfer = tx("BOOK", "ALICE")
    rejection = translate_message(message(transfer), books.get)[0]
    assert isinstance(rejection, Rejection) and rejection.reason == "AC13"


def test_two_accounts_on_one_wallet_cannot_pay_each_other() -> None:
    shared = {"A": RegisteredAccount("A", "EUR", "w-same"), "B": RegisteredAccount("B", "EUR", "w-same")}
    rejection = translate_message(message(tx("A", "B")), shared.get)[0]
    assert isinstance(rejection, Rejection) and rejection.reason == "AG03" and "w-same" in rejection.info
