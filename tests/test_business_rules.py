"""Business rules the XSD cannot express: each has a stable rule id and an ISO reason code."""
from __future__ import annotations

import pytest

from bridge.iso.rules import RULES
from builders import Tx, pacs008


def rules_of(reader, text: str) -> list[tuple[str, str, int | None]]:
    result = reader.read(text.encode())
    assert result.document_valid, result.findings  # the XSD accepts it; only the rule refuses it
    return [(f.rule, f.reason, f.transaction) for f in result.findings]


@pytest.mark.parametrize("version", ["02", "08", "13", "14"])
def test_a_clean_message_passes_every_rule(reader, version: str) -> None:
    assert rules_of(reader, pacs008([Tx(), Tx(amount="7", currency="JPY")], version=version)) == []


def test_nb_of_txs_must_match(reader) -> None:
    assert rules_of(reader, pacs008([Tx(), Tx()], nb_of_txs=3)) == [("grp.nb-of-txs", "AM18", None)]


def test_ctrl_sum_must_match(reader) -> None:
    assert rules_of(reader, pacs008([Tx(amount="1.00")], ctrl_sum="2.00")) == [("grp.ctrl-sum", "AM10", None)]


def test_ctrl_sum_is_optional(reader) -> None:
    assert rules_of(reader, pacs008([Tx()], ctrl_sum=None)) == []


@pytest.mark.parametrize("amount, currency, expected", [
    ("1.234", "EUR", ("amount.precision", "AM12", 0)),
    ("1.5", "JPY", ("amount.precision", "AM12", 0)),
    ("1.2345", "KWD", ("amount.precision", "AM12", 0)),
    ("0", "EUR", ("amount.zero", "AM01", 0)),
    ("1.00", "ZZZ", ("amount.currency", "AM11", 0)),
])
def test_amount_rules(reader, amount: str, currency: str, expected: tuple) -> None:
    assert rules_of(reader, pacs008([Tx(amount=amount, currency=currency)], ctrl_sum=None)) == [expected]


@pytest.mark.parametrize("amount, currency", [("1.23", "EUR"), ("150000", "JPY"), ("12.345", "KWD"),
                                              ("1.230", "EUR")])
def test_amounts_within_the_currency_exponent_pass(reader, amount: str, currency: str) -> None:
    assert rules_of(reader, pacs008([Tx(amount=amount, currency=currency)])) == []


def test_iban_check_digits(reader) -> None:
    bad = Tx(creditor_iban="DE89370400440532013001")
    assert rules_of(reader, pacs008([Tx(), bad])) == [("account.iban", "AC01", 1)]


def test_bic_country_must_exist(reader) -> None:
    # XX passes the XSD pattern but is no ISO 3166 country.
    assert rules_of(reader, pacs008([Tx(debtor_bic="BNPAXXPPXXX")])) == [("agent.bic", "RC01", 0)]


def test_uetr_must_be_uuid_v4(reader) -> None:
    # pacs.008.001.08 pins v4 in its pattern; .13 too. Build the check directly on the domain object.
    from dataclasses import replace

    from bridge.iso.rules import check_credit_transfers
    message = reader.read(pacs008().encode()).payload
    v1 = replace(message.transactions[0], uetr="d0826d0f-a005-1e3b-b3dc-54da4ac7f0d0")
    findings = check_credit_transfers(replace(message, transactions=(v1,)))
    assert [(f.rule, f.reason) for f in findings] == [("tx.uetr", "FF01")]


def test_transaction_ids_unique_within_a_message(reader) -> None:
    text = pacs008([Tx(tx_id="T1"), Tx(tx_id="T2"), Tx(tx_id="T1")])
    assert rules_of(reader, text) == [("tx.unique-ids", "AM05", 2)]


def test_rule_findings_point_at_the_element(reader) -> None:
    result = reader.read(pacs008([Tx(), Tx(amount="1.999")]).encode())
    (finding,) = [f for f in result.findings if f.rule == "amount.precision"]
    assert finding.path == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]/IntrBkSttlmAmt"
    assert finding.line == 1


def test_rule_ids_are_unique_and_carry_iso_codes() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    assert all(len(r.reason) == 4 and r.reason.isalnum() for r in RULES)
