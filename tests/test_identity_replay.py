"""Keys, who an account is and who may never be a party, end to end through the pipeline on the
in-memory fake of the ports (tests/fakes.py), an account's spellings on the SQL store (SQLite
and PostgreSQL) too: the books stay right under real-world variants of valid messages (issue 13,
classes 1, 2 and 6)."""
from __future__ import annotations

import pytest

from bridge.accounts import RegisteredAccount
from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from builders import Tx, pacs008

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
CHIYO, OMNIBUS_EUR = "JP-TANAKA-001", "DE56500199000990000018"
FATIMA = "FR7630004008280001058392658"
GINA = "GB33BUKB20201555555555"  # registered below: an IBAN with letters past its check digits
ISSUER, FOREIGN = "TOKNDEFFXXX", "BNPAFRPPXXX"
TOKENBANK = "<SchmeNm><Prtry>TOKENBANK</Prtry></SchmeNm>"


def bank_on(registry):
    """(store, pipeline) for the issuer TOKNDEFFXXX on the sample registry, plus Gina."""
    with registry() as uow:
        uow.accounts.upsert([RegisteredAccount(GINA, "EUR", "w-gina")])
        uow.commit()
    return registry, MessageBus(MessageReader(), registry, BridgeConfig(issuer_bic=ISSUER),
                              is_transient=registry.is_transient)


@pytest.fixture()
def bank(memory_registry):
    return bank_on(memory_registry)


@pytest.fixture()
def real_bank(registry):
    """On SQLite and PostgreSQL: the SQL registry finds an account however it is written."""
    return bank_on(registry)


def books(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({b.wallet: b.balance for b in uow.ledger.balances()}, uow.ledger.supply())


def outcomes(outcome) -> list[tuple[str, str | None, str | None]]:
    return [(t.status, t.reason, t.operation.kind if t.operation else None) for t in outcome.transactions]


def fund(run, wallet_iban: str = ALICE, amount: str = "100.00") -> None:
    """Tokens for a customer: fiat from a foreign bank minted."""
    outcome = run.handle(pacs008([Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=wallet_iban)]).encode())
    assert outcomes(outcome) == [("ACSC", None, "mint")]


def own_transfer(debtor: str | None = ALICE, creditor: str | None = BRUNO, **kw) -> Tx:
    """A payment between customers, instructed through this bank."""
    return Tx(amount="10.00", debtor_iban=debtor, creditor_iban=creditor, debtor_bic=ISSUER, **kw)


# -- class 1: two transactions never share a key ----------------------------------------------

def test_two_notprovided_transactions_both_apply_and_a_resend_applies_nothing(bank) -> None:
    store, run = bank
    twins = [Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE, end_to_end_id="NOTPROVIDED",
                tx_id=None, uetr=None) for _ in range(2)]
    other = Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=BRUNO, end_to_end_id="NOTPROVIDED",
               tx_id=None, uetr=None)
    message = pacs008(twins + [other], msg_id="MSG-TWINS-1")
    first = run.handle(message.encode())
    assert outcomes(first) == [("ACSC", None, "mint")] * 3
    assert len({t.operation.key for t in first.transactions}) == 3
    assert books(store) == ({"w-alice": 2000, "w-bruno": 500}, {"EUR": 2500})
    # The same message sent again (other bytes: not answered from the inbox) maps to the same keys.
    again = run.handle(message.replace("<CreDtTm>2026-11-24T10:00:00Z", "<CreDtTm>2026-11-24T10:05:00Z").encode())
    assert not again.seen_before
    assert [t.result for t in again.transactions] == ["replayed"] * 3
    assert [t.operation.key for t in again.transactions] == [t.operation.key for t in first.transactions]
    assert books(store) == ({"w-alice": 2000, "w-bruno": 500}, {"EUR": 2500})


# -- class 2: who an account is -----------------------------------------------------------------

def test_a_registered_iban_written_in_lower_case_or_as_a_spaced_othr_id_is_a_transfer(real_bank) -> None:
    store, run = real_bank
    fund(run, GINA)
    fund(run, ALICE)
    before = books(store)[1]
    lower = own_transfer(GINA.lower()[:2].upper() + GINA.lower()[2:], ALICE)  # GB33bukb...: XSD-valid
    spaced = own_transfer(None, GINA, debtor_other="de82 5001 9900 0417 2839 05")
    outcome = run.handle(pacs008([lower, spaced], instructing_bic=ISSUER).replace(TOKENBANK, "").encode())
    assert outcomes(outcome) == [("ACSC", None, "transfer")] * 2
    balances, supply = books(store)
    assert supply == before  # a transfer: neither a mint nor a burn
    assert (balances["w-gina"], balances["w-alice"]) == (10000, 10000)


def test_an_othr_id_with_another_scheme_is_not_our_account(bank) -> None:
    store, run = bank
    to_chiyo = Tx(amount="1000", currency="JPY", debtor_iban=FATIMA, creditor_iban=None, creditor_other=CHIYO)
    wrong = run.handle(pacs008([to_chiyo]).replace(TOKENBANK, "<SchmeNm><Cd>BBAN</Cd></SchmeNm>").encode())
    assert outcomes(wrong) == [("RJCT", "AC03", None)]
    also_wrong = run.handle(pacs008([to_chiyo]).replace(TOKENBANK, "").encode())  # no scheme at all
    assert outcomes(also_wrong) == [("RJCT", "AC03", None)]
    assert books(store) == ({}, {})
    same = run.handle(pacs008([to_chiyo]).replace("TOKENBANK", "TokenBank").encode())
    assert outcomes(same) == [("ACSC", None, "mint")] and books(store)[1] == {"JPY": 1000}


def test_our_account_id_at_another_bank_is_a_look_alike_not_our_customer(bank) -> None:
    store, run = bank
    fund(run, ALICE)
    # A foreign bank's payment to "Bruno's IBAN" at a third bank: not ours, nothing to do here.
    look_alike = Tx(amount="7.00", debtor_iban=FATIMA, creditor_iban=BRUNO, creditor_bic="BARCGB22XXX")
    assert outcomes(run.handle(pacs008([look_alike]).encode())) == [("RJCT", "AC03", None)]
    # Alice pays Bruno's look-alike elsewhere: the tokens leave the ledger (a burn), Bruno gets nothing.
    away = own_transfer(ALICE, BRUNO, creditor_bic="BARCGB22XXX")
    assert outcomes(run.handle(pacs008([away], instructing_bic=ISSUER).encode())) == [("ACSC", None, "burn")]
    balances, supply = books(store)
    assert balances == {"w-alice": 9000} and supply == {"EUR": 9000}


# -- class 6: the reserve and the ledger's books are never parties ----------------------------

@pytest.mark.parametrize("debtor, creditor, reason", [
    (OMNIBUS_EUR, ALICE, "AC13"),  # minted before: the reserve "paid" a customer
    (ALICE, OMNIBUS_EUR, "AC14"),  # burned before: a customer "paid" the reserve
    (ALICE, ALICE, "AG03"),  # a wallet paying itself
])
def test_omnibus_as_a_party_and_a_self_transfer_are_refused_and_change_nothing(bank, debtor, creditor, reason) -> None:
    store, run = bank
    fund(run, ALICE)
    before = books(store)
    outcome = run.handle(pacs008([own_transfer(debtor, creditor)], instructing_bic=ISSUER).encode())
    assert outcomes(outcome) == [("RJCT", reason, None)] and outcome.transactions[0].info
    assert books(store) == before


# -- camt.053: statement and related-party accounts are found the same way --------------------

@pytest.mark.parametrize("creditor_scheme, minted", [
    ("<SchmeNm><Prtry>TokenBank</Prtry></SchmeNm>", True),  # case differs: the same scheme
    ("<SchmeNm><Cd>BBAN</Cd></SchmeNm>", False),  # another scheme: not our customer
])
def test_an_omnibus_statement_credit_mints_only_to_an_account_named_with_its_scheme(
        memory_registry, creditor_scheme, minted) -> None:
    from camt053_builders import Ntry, camt053
    from reconcile_support import ManualClock, categories, clocked, pipeline, report
    store = clocked(memory_registry, ManualClock())
    entry = Ntry(amount="1000", currency="JPY", uetr="6f1d1c2e-8a4b-4c1d-9e2f-3a4b5c6d7e8f",
                 creditor_iban="PLACEHOLDER")
    statement = (camt053([entry], account="TOKN-OMNIBUS-JPY", currency="JPY")
                 .replace("<Othr><Id>TOKN-OMNIBUS-JPY</Id></Othr>",
                          "<Othr><Id>tokn-omnibus-jpy</Id><SchmeNm><Prtry>TOKENBANK</Prtry></SchmeNm></Othr>")
                 .replace("<IBAN>PLACEHOLDER</IBAN>", f"<Othr><Id>{CHIYO.lower()}</Id>{creditor_scheme}</Othr>"))
    found = report(pipeline(store, ManualClock()).handle(statement.encode()))
    assert books(store) == (({"w-chiyo": 1000}, {"JPY": 1000}) if minted else ({}, {}))
    assert found["clean"] is minted
    assert minted or "unapplied_credit" in categories(found)
