"""Payment-versus-payment across currencies (bridge.fx): a pacs.008 whose debtor's and creditor's
accounts hold different currencies moves the debtor's tokens to the bank's FX position in their
currency and pays the creditor from the FX position in the other; both legs or neither; supply
never moves. On the in-memory fake of the ports, and on SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.iso.reader import MessageReader
from builders import FiTx, Tx, pacs008, pacs009
from pvp_support import (BUYER, FATIMA, FX_EUR, FX_USD, ISSUER, NOW, SUPPLIER, SUPPLIER_USD, Clock,
                         pipeline, reply_transactions, state, with_fx_accounts)
from pvp_support import fx_store  # noqa: F401 - a fixture

FUNDED_USD, FUNDED_EUR = 100_000, 500_000  # the buyer's 1000.00 USD; the EUR position's 5000.00


def fund(store, clock: Clock | None = None, *, eur_position: str = "5000.00") -> None:
    """The buyer gets 1000.00 USD (a pacs.008 mint); the bank funds its EUR position (a pacs.009
    of its own liquidity)."""
    run = pipeline(store, clock)
    assert run.handle(pacs008([Tx(amount="1000.00", currency="USD", debtor_iban=FATIMA,
                                  creditor_iban=BUYER)]).encode()).verdict == "accepted"
    assert run.handle(pacs009([FiTx(amount=eur_position, debtor_bic=ISSUER, creditor_bic=ISSUER,
                                    creditor_iban=FX_EUR)], instructing_bic=ISSUER).encode()).verdict == "accepted"


def pvp(amount="92.00", currency="EUR", *, instructed=("100.00", "USD"), rate="0.92",
        debtor=BUYER, creditor=SUPPLIER, **kw) -> str:
    """A pacs.008 from the buyer's USD wallet through the issuer's own channel."""
    return pacs008([Tx(amount=amount, currency=currency, debtor_iban=debtor, creditor_iban=creditor,
                       debtor_bic=ISSUER, instructed=instructed, xchg_rate=rate, **kw)],
                   instructing_bic=ISSUER)


def test_usd_to_eur_moves_both_legs_exactly_and_mints_nothing(fx_store) -> None:
    fund(fx_store)
    before_supply = state(fx_store)[1]
    outcome = pipeline(fx_store).handle(pvp().encode())
    assert outcome.verdict == "accepted"
    balances, supply = state(fx_store)
    assert balances == {("w-buyer", "USD"): 90_000, ("fx-usd", "USD"): 10_000,
                        ("w-supplier", "EUR"): 9_200, ("fx-eur", "EUR"): FUNDED_EUR - 9_200}
    assert supply == before_supply == {"USD": FUNDED_USD, "EUR": FUNDED_EUR}
    [(status, reason, info)] = reply_transactions(outcome.reply.body)
    assert (status, reason) == ("ACSC", None)
    assert info == "PvP USD->EUR rate 0.92 (message): debited 100.00 USD, credited 92.00 EUR"
    assert MessageReader().read(outcome.reply.body).valid  # the reply is XSD-valid


def test_without_a_message_rate_the_table_converts_with_bankers_rounding(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    # 10.05 USD at 0.92 = 9.246 EUR -> 9.25; 10.125 EUR-side ties are rounded half to even.
    outcome = pipeline(store).handle(pvp("10.05", "USD", instructed=None, rate=None).encode())
    assert outcome.verdict == "accepted"
    assert state(store)[0][("w-supplier", "EUR")] == 925
    assert "rate 0.92 (table)" in outcome.transactions[0].info


def test_the_reverse_pair_is_derived_and_its_rate_stated(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    run = pipeline(store)
    assert run.handle(pvp().encode()).verdict == "accepted"  # the supplier now holds 92.00 EUR
    back = pacs008([Tx(amount="46.00", currency="EUR", debtor_iban=SUPPLIER, creditor_iban=SUPPLIER_USD,
                       debtor_bic=ISSUER)], instructing_bic=ISSUER)
    outcome = run.handle(back.encode())
    assert outcome.verdict == "accepted", outcome.transactions[0].info
    assert state(store)[0][("w-supplier-usd", "USD")] == 5_000  # 46.00 / 0.92
    assert "EUR->USD rate 1.086956522 (table)" in outcome.transactions[0].info


def test_the_spread_is_taken_against_the_customer(memory_registry) -> None:
    from bridge.fx.rates import parse_rate_csv
    table = parse_rate_csv("base,quote,rate,valid_from,valid_until,spread_bps\n"
                           "USD,EUR,0.92,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z,100\n")
    quote = table.quote("USD", "EUR", NOW)
    assert quote.rate == Decimal("0.9108")  # 0.92 less 1 %
    assert table.quote("EUR", "USD", NOW).rate < 1 / Decimal("0.92")


@pytest.mark.parametrize("clock, message, reason", [
    (Clock(NOW.replace(day=25)), {}, "AM03"),  # the rate expired
    (Clock(), {"amount": "100.00", "currency": "USD", "creditor": "JP-TANAKA-001", "instructed": None,
               "rate": None}, "AM03"),  # no USD/JPY pair at all
    (Clock(), {"rate": "0.95", "amount": "95.00", "instructed": ("100.00", "USD")}, "AM09"),  # 326 bps off
    (Clock(), {"amount": "93.00"}, "AM09"),  # amounts disagree with the stated rate
])
def test_refused_rates_change_nothing(memory_registry, clock, message, reason) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    before = state(store)
    kw = dict(message)
    if "creditor" in kw:
        kw["creditor_other"], kw["creditor"] = kw.pop("creditor"), None
    outcome = pipeline(store, clock).handle(pvp(**kw).encode())
    assert [(t.status, t.reason) for t in outcome.transactions] == [("RJCT", reason)]
    assert state(store) == before
    assert MessageReader().read(outcome.reply.body).valid


def test_a_rate_within_tolerance_is_the_messages(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    outcome = pipeline(store, rate_tolerance_bps=50).handle(
        pvp("92.30", rate="0.923", instructed=("100.00", "USD")).encode())  # 33 bps off
    assert outcome.verdict == "accepted"
    assert state(store)[0][("w-supplier", "EUR")] == 9_230


@pytest.mark.parametrize("short", ["debtor", "position"])
def test_a_leg_that_fails_leaves_neither_applied(fx_store, short) -> None:
    fund(fx_store, eur_position="50.00" if short == "position" else "5000.00")
    before = state(fx_store)
    message = pvp() if short == "position" else pvp("1840.00", instructed=("2000.00", "USD"))
    outcome = pipeline(fx_store).handle(message.encode())
    assert [(t.status, t.reason) for t in outcome.transactions] == [("RJCT", "AM04")]
    assert state(fx_store) == before  # the debtor's leg was undone with the position's
    with fx_store() as uow:
        assert uow.ledger.find(outcome.transactions[0].operation.key) is None


def test_replays_change_nothing_even_after_the_rate_expired(fx_store) -> None:
    fund(fx_store)
    message = pvp(uetr="3f1a7c2e-9b4d-4e8a-a1c3-5d6e7f8a9b0c")
    first = pipeline(fx_store).handle(message.encode())
    after = state(fx_store)
    same_bytes = pipeline(fx_store).handle(message.encode())
    assert same_bytes.seen_before and same_bytes.reply.message_id == first.reply.message_id
    later = Clock(NOW.replace(day=26))  # no valid rate any more
    resent = pipeline(fx_store, later).handle(message.replace("<MsgId>MSG-", "<MsgId>RSN-").encode())
    assert [(t.status, t.result) for t in resent.transactions] == [("ACSC", "replayed")]
    assert "debited 100.00 USD, credited 92.00 EUR" in resent.transactions[0].info
    assert state(fx_store) == after


def test_the_same_key_for_another_payment_is_am05(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    uetr = "3f1a7c2e-9b4d-4e8a-a1c3-5d6e7f8a9b0d"
    run = pipeline(store)
    assert run.handle(pvp(uetr=uetr).encode()).verdict == "accepted"
    before = state(store)
    other = run.handle(pvp("46.00", instructed=("50.00", "USD"), uetr=uetr).encode())
    assert [(t.status, t.reason) for t in other.transactions] == [("RJCT", "AM05")]
    assert state(store) == before


def test_an_fx_position_is_never_a_customer_payments_party(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    to_position = pacs008([Tx(amount="10.00", currency="EUR", debtor_iban=FATIMA, creditor_iban=FX_EUR)])
    from_position = pacs008([Tx(amount="10.00", currency="USD", debtor_iban=FX_USD, creditor_iban=FATIMA,
                                debtor_bic=ISSUER)], instructing_bic=ISSUER)
    run = pipeline(store)
    assert [t.reason for t in run.handle(to_position.encode()).transactions] == ["AC14"]
    assert [t.reason for t in run.handle(from_position.encode()).transactions] == ["AC13"]


def test_a_cross_currency_debit_needs_the_issuers_channel(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    before = state(store)
    foreign = pacs008([Tx(amount="92.00", debtor_iban=BUYER, creditor_iban=SUPPLIER, debtor_bic=ISSUER,
                          instructed=("100.00", "USD"), xchg_rate="0.92")])  # instructed by BNPA
    outcome = pipeline(store).handle(foreign.encode())
    assert [t.reason for t in outcome.transactions] == ["AG01"]
    assert state(store) == before


def test_a_dry_run_prices_and_applies_nothing(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    fund(store)
    before = state(store)
    outcome = pipeline(store).handle(pvp().encode(), dry_run=True)
    assert [(t.status, t.result) for t in outcome.transactions] == [("ACSC", "planned")]
    assert "credited 92.00 EUR" in outcome.transactions[0].info
    assert state(store) == before


def test_rate_table_rows_are_checked_all_or_nothing() -> None:
    from bridge.fx.rates import RateTableError, parse_rate_csv
    with pytest.raises(RateTableError) as raised:
        parse_rate_csv("base,quote,rate,valid_from,valid_until\n"
                       "USD,EUR,0,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z\n"
                       "USD,USD,1,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z\n"
                       "USD,EUR,0.9,2026-11-24T00:00:00,2026-11-25T00:00:00Z\n"
                       "USD,XXY,0.9,2026-11-25T00:00:00Z,2026-11-24T00:00:00Z\n")
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert "not positive" in problems[0] and "both USD" in problems[1]
    assert "no offset" in problems[2] and "not before" in problems[3]
    with pytest.raises(RateTableError, match="header lacks valid_until"):
        parse_rate_csv("base,quote,rate,valid_from\n")


def test_validity_edges_and_the_latest_row_wins() -> None:
    from bridge.fx.rates import parse_rate_csv
    table = parse_rate_csv("base,quote,rate,valid_from,valid_until\n"
                           "USD,EUR,0.90,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z\n"
                           "USD,EUR,0.91,2026-11-24T12:00:00Z,2026-11-25T00:00:00Z\n")
    assert table.quote("USD", "EUR", NOW.replace(hour=11)).rate == Decimal("0.90")
    assert table.quote("USD", "EUR", NOW).rate == Decimal("0.91")  # from, included
    assert table.quote("USD", "EUR", NOW.replace(day=25, hour=0)) is None  # until, excluded
    assert table.quote("EUR", "JPY", NOW) is None


def test_each_currencys_omnibus_still_backs_its_supply_after_pvp(registry) -> None:
    """Reconciliation counts the FX positions as wallets: the EUR omnibus statement booking the
    fiat of the bank's EUR funding (and the USD one the buyer's) is clean after a PvP, which
    moved tokens between the currencies' wallets and minted nothing."""
    from bridge.fx.rates import parse_rate_csv
    from bridge.accounts import RegisteredAccount
    from camt053_builders import Ntry, camt053
    from pvp_support import RATES
    from reconcile_support import ManualClock, clocked, pipeline as reconciling, report
    store = with_fx_accounts(registry)
    with store() as uow:
        uow.accounts.upsert([RegisteredAccount("DE86500199000888000001", "USD", None, kind="omnibus")])
        uow.commit()
    clock = ManualClock()
    store = clocked(store, clock)
    run = reconciling(store, clock, issuer_bic=ISSUER, rates=parse_rate_csv(RATES))
    usd, eur = "9e1a7c2e-9b4d-4e8a-a1c3-5d6e7f8a9b01", "9e1a7c2e-9b4d-4e8a-a1c3-5d6e7f8a9b02"
    assert run.handle(pacs008([Tx(amount="1000.00", currency="USD", debtor_iban=FATIMA,
                                  creditor_iban=BUYER, uetr=usd)]).encode()).verdict == "accepted"
    assert run.handle(pacs009([FiTx(amount="5000.00", debtor_bic=ISSUER, creditor_bic=ISSUER,
                                    creditor_iban=FX_EUR, uetr=eur)], instructing_bic=ISSUER).encode()).verdict == "accepted"
    assert run.handle(pvp().encode()).verdict == "accepted"
    found = report(run.handle(camt053([Ntry("5000.00", uetr=eur, creditor_iban=FX_EUR)]).encode()))
    assert found["clean"], found
    found = report(run.handle(camt053([Ntry("1000.00", uetr=usd, creditor_iban=BUYER, currency="USD")],
                                      account="DE86500199000888000001", currency="USD").encode()))
    assert found["clean"], found
