"""pain.001 from a corporate's channel, on the in-memory fake of the ports: who may debit what,
TRANSFER to a creditor here, BURN and an outgoing pacs.008 to a creditor elsewhere (XSD-valid,
read back by our reader and by xmlschema), replays that change nothing and send nothing, and the
pain.002 answer in every version."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import xmlschema
from lxml import etree

from bridge.accounts import parse_registry_rows
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.initiations.fiat_leg import uetr_of
from bridge.iso.catalogue import default_schema_dir
from bridge.iso.pain002 import INITIATION_REPLY_VERSIONS
from bridge.iso.reader import MessageReader
from bridge.operations import MINT, TokenOperation
from fakes import InMemoryStore
from pain001_builders import ISSUER, Block, Payment, pain001, with_app_header

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ACME, OTHER = "ACME-TREASURY", "BRUNO-GMBH"
ACME_EUR, ACME_USD, BRUNO = "DE82500199000417283905", "ACME-USD-001", "DE17500199000602517730"
FATIMA = "FR7630004008280001058392658"  # a customer of BNP Paribas: not tokenized here
REGISTRY = [
    dict(account=ACME_EUR, currency="EUR", wallet="w-acme-eur", group=ACME),
    dict(account=ACME_USD, currency="USD", wallet="w-acme-usd", group=ACME, scheme="Prtry:TOKENBANK"),
    dict(account=BRUNO, currency="EUR", wallet="w-bruno", group=OTHER),
]


def legs(outcome) -> tuple:
    """What a pain.001 sent besides its pain.002 and the camt.054 notifications of its
    operations (tested in test_notifications): its fiat legs."""
    return tuple(m for m in outcome.emitted if not m.message_type.startswith("camt.054"))


def corporate_store(funds: int = 100_000) -> InMemoryStore:
    """Acme (EUR and USD accounts) and Bruno (EUR), each wallet funded with `funds` minor units."""
    store = InMemoryStore(clock=lambda: NOW)
    with store() as uow:
        uow.accounts.upsert(parse_registry_rows(REGISTRY))
        for row in REGISTRY:
            uow.ledger.apply(TokenOperation(f"fund:{row['wallet']}", MINT, row["currency"], funds,
                                            credit_wallet=row["wallet"]))
        uow.commit()
    return store


def bus(store: InMemoryStore, **config) -> MessageBus:
    settings = dict(issuer_bic=ISSUER, corporate_senders=frozenset({ACME}))
    settings.update(config)
    return MessageBus(MessageReader(), store, BridgeConfig(**settings), clock=lambda: NOW,
                      is_transient=store.is_transient)


def state(store: InMemoryStore) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances()}, uow.ledger.supply())


def document_of(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    return root if etree.QName(root).localname == "Document" else next(
        e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "Document")


def texts(body: bytes, name: str) -> list[str]:
    return [e.text for e in document_of(body).iter(f"{{*}}{name}")]


def xsd_valid(body: bytes) -> str:
    """The message type of `body`, after the official XSD (xmlschema, independent of libxml2)
    accepted its Document."""
    document = document_of(body)
    message_type = etree.QName(document).namespace.rsplit(":", 1)[-1]
    xmlschema.XMLSchema(str(default_schema_dir() / f"{message_type}.xsd")).validate(
        etree.tostring(document).decode())
    return message_type


def outsider(amount: str = "250.00") -> Payment:
    return Payment(amount=amount, creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX",
                   creditor_name="Fatima Ouali")


# -- TRANSFER and BURN + fiat leg -----------------------------------------------------------------

def test_a_payment_to_a_customer_here_is_a_transfer_answered_acsc() -> None:
    store = corporate_store()
    outcome = bus(store).handle(pain001([Block(payments=[Payment(amount="120.50")])]).encode())
    assert outcome.verdict == "accepted" and legs(outcome) == ()
    [tx] = outcome.transactions
    assert (tx.status, tx.operation.kind, tx.operation.debit_wallet, tx.operation.credit_wallet) == (
        "ACSC", "transfer", "w-acme-eur", "w-bruno")
    balances, supply = state(store)
    assert balances[("w-acme-eur", "EUR")] == 100_000 - 12_050
    assert balances[("w-bruno", "EUR")] == 100_000 + 12_050
    assert supply["EUR"] == 200_000
    assert xsd_valid(outcome.reply.body) == "pain.002.001.10"
    assert texts(outcome.reply.body, "GrpSts") == ["ACSC"]
    assert texts(outcome.reply.body, "TxSts") == ["ACSC"]


def test_a_payment_elsewhere_burns_and_sends_one_valid_pacs008_fiat_leg() -> None:
    store = corporate_store()
    message = pain001([Block(payments=[outsider("250.00")])], msg_id="ACME-0001")
    outcome = bus(store).handle(message.encode())
    [tx] = outcome.transactions
    assert (tx.status, tx.operation.kind, tx.operation.debit_wallet) == ("ACSC", "burn", "w-acme-eur")
    balances, supply = state(store)
    assert balances[("w-acme-eur", "EUR")] == 100_000 - 25_000 and supply["EUR"] == 200_000 - 25_000
    [leg] = legs(outcome)
    assert leg.message_type == "pacs.008.001.08" == xsd_valid(leg.body)
    read = MessageReader().read(leg.body)  # our own reader, rules included
    assert read.valid, read.findings
    [credit] = read.payload.transactions
    assert str(credit.amount) == "250.00 EUR" and credit.end_to_end_id == tx.end_to_end_id
    assert credit.uetr == tx.uetr == uetr_of(tx.operation.key)  # no UETR given: one from the key
    assert read.payload.group_header.instructing_agent.bic == ISSUER
    assert credit.debtor_agent.bic == ISSUER and credit.creditor_agent.bic == "BNPAFRPPXXX"
    assert credit.creditor.account.iban == FATIMA and credit.debtor.account.iban == ACME_EUR
    assert credit.remittance == ("Invoice 4711",)
    assert texts(outcome.reply.body, "OrgnlUETR") == [tx.uetr]  # the pain.002 tells it


def test_the_corporates_uetr_is_the_fiat_legs() -> None:
    uetr = "5c0e2f0a-7d9b-4f8e-9a3b-2c1d0e9f8a7b"
    payment = outsider()
    payment.uetr = uetr
    outcome = bus(corporate_store()).handle(pain001([Block(payments=[payment])]).encode())
    assert outcome.transactions[0].operation.key == f"uetr:{uetr}"
    assert texts(legs(outcome)[0].body, "UETR") == [uetr]


def test_a_retry_writes_the_same_fiat_leg_references() -> None:
    message = pain001([Block(payments=[outsider()])], msg_id="ACME-0002").encode()
    first, second = (legs(bus(corporate_store()).handle(message))[0] for _ in range(2))
    for name in ("UETR", "TxId", "EndToEndId", "IntrBkSttlmAmt"):
        assert texts(first.body, name) == texts(second.body, name)


def test_replays_change_nothing_and_send_no_second_fiat_leg() -> None:
    store = corporate_store()
    pipeline = bus(store)
    payments = [outsider("10.00"), Payment(amount="5.00")]
    message = pain001([Block(payments=payments)], msg_id="ACME-0003")
    first = pipeline.handle(message.encode())
    assert len(legs(first)) == 1 and first.verdict == "accepted"
    after = state(store)
    again = pipeline.handle(message.encode())  # the same bytes: answered from the inbox
    assert again.seen_before and legs(again) == () and state(store) == after
    resent = pipeline.handle(message.replace("2026-12-01T09:00:00", "2026-12-01T09:05:00").encode())
    assert not resent.seen_before and legs(resent) == () and state(store) == after
    assert [t.result for t in resent.transactions] == ["replayed", "replayed"]
    assert [t.status for t in resent.transactions] == ["ACSC", "ACSC"]


def test_a_dry_run_plans_and_sends_nothing() -> None:
    store = corporate_store()
    before = state(store)
    outcome = bus(store).handle(pain001([Block(payments=[outsider()])]).encode(), dry_run=True)
    assert [t.result for t in outcome.transactions] == ["planned"] and legs(outcome) == ()
    assert state(store) == before


# -- who may debit what ---------------------------------------------------------------------------

def test_a_corporate_debiting_another_customers_account_is_refused_ag01() -> None:
    store = corporate_store()
    before = state(store)
    message = pain001([Block(debtor_iban=BRUNO, payments=[Payment(creditor_iban=ACME_EUR)])])
    outcome = bus(store).handle(message.encode())
    [tx] = outcome.transactions
    assert (outcome.verdict, tx.status, tx.reason) == ("rejected", "RJCT", "AG01")
    assert "not one of ACME-TREASURY's accounts" in tx.info
    assert state(store) == before and legs(outcome) == ()
    assert texts(outcome.reply.body, "GrpSts") == ["RJCT"]
    assert texts(outcome.reply.body, "Cd") == ["AG01"]


def test_an_unknown_channel_is_refused_whole() -> None:
    store = corporate_store()
    before = state(store)
    outcome = bus(store).handle(pain001(channel="MALLORY-LTD").encode())
    assert outcome.verdict == "rejected" and state(store) == before
    assert [t.reason for t in outcome.transactions] == ["AG01"]
    assert "MALLORY-LTD is not a corporate channel" in outcome.transactions[0].info
    assert xsd_valid(outcome.reply.body) == "pain.002.001.10"
    assert texts(outcome.reply.body, "GrpSts") == ["RJCT"]


def test_no_corporate_channel_configured_refuses_every_pain001() -> None:
    outcome = bus(corporate_store(), corporate_senders=frozenset()).handle(pain001().encode())
    assert outcome.verdict == "rejected" and outcome.transactions[0].reason == "AG01"


def test_a_message_naming_no_channel_is_refused() -> None:
    outcome = bus(corporate_store()).handle(pain001(channel=None).encode())
    assert outcome.transactions[0].reason == "AG01"
    assert "channel unknown" in outcome.transactions[0].info


def test_the_apphdr_names_the_channel_and_the_reply_goes_back_to_it() -> None:
    store = corporate_store()
    message = with_app_header(pain001(channel="SOMEONE-ELSE"), channel=ACME, business_message_id="BIZ-1")
    outcome = bus(store).handle(message.encode())
    assert outcome.verdict == "accepted", outcome.summary
    reply = MessageReader().read(outcome.reply.body)
    assert reply.header_valid and reply.document_valid, reply.findings
    assert reply.header.from_bic == ISSUER
    assert reply.header.to_party.organisation and reply.header.to_party.other_id == ACME
    assert outcome.reply.correlation_id == "BIZ-1"


def test_a_message_addressed_to_another_bank_is_refused() -> None:
    message = with_app_header(pain001(), channel=ACME, to_bic="BNPAFRPPXXX")
    outcome = bus(corporate_store()).handle(message.encode())
    assert outcome.verdict == "rejected" and "addressed to BNPAFRPPXXX" in outcome.transactions[0].info


def test_a_debtor_account_not_tokenized_here_is_rejected_ac02() -> None:
    outcome = bus(corporate_store()).handle(pain001([Block(debtor_iban=FATIMA)]).encode())
    assert outcome.transactions[0].reason == "AC02"


def test_a_debtor_agent_of_another_bank_is_not_this_banks_account() -> None:
    outcome = bus(corporate_store()).handle(pain001([Block(debtor_bic="BNPAFRPPXXX")]).encode())
    assert outcome.transactions[0].reason == "AC02"  # never a mint


def test_a_payment_in_a_currency_neither_account_holds_is_refused_am03() -> None:
    store = corporate_store()  # EUR to EUR, instructed in USD: no PvP to settle
    before = state(store)
    message = pain001([Block(payments=[Payment(amount="10.00", currency="USD")])])
    outcome = bus(store).handle(message.encode())
    assert outcome.transactions[0].reason == "AM03" and "holds EUR, not USD" in outcome.transactions[0].info
    assert state(store) == before


def test_an_unroutable_creditor_elsewhere_is_rejected_rc07() -> None:
    payment = Payment(creditor_iban=FATIMA, creditor_bic=None)
    outcome = bus(corporate_store()).handle(pain001([Block(payments=[payment])]).encode())
    assert outcome.transactions[0].reason == "RC07" and legs(outcome) == ()


def test_insufficient_funds_are_rejected_and_send_nothing() -> None:
    store = corporate_store(funds=100)
    outcome = bus(store).handle(pain001([Block(payments=[outsider("5.00")])]).encode())
    assert outcome.transactions[0].reason == "AM04" and legs(outcome) == ()


def test_blocks_and_transactions_each_get_their_status() -> None:
    store = corporate_store()
    usd = Block(debtor_iban=None, debtor_other=ACME_USD, payments=[Payment(
        currency="USD", amount="7.00", creditor_iban=FATIMA, creditor_bic="BNPAFRPPXXX")])
    eur = Block(payments=[Payment(amount="1.00"), Payment(amount="2000.00")])  # the 2nd: AM04
    outcome = bus(store).handle(pain001([usd, eur]).encode())
    assert [t.status for t in outcome.transactions] == ["ACSC", "ACSC", "RJCT"]
    assert outcome.verdict == "partial" and len(legs(outcome)) == 1
    body = outcome.reply.body
    assert texts(body, "GrpSts") == ["PART"] and texts(body, "PmtInfSts") == ["ACSC", "PART"]
    assert texts(body, "OrgnlPmtInfId") == [usd.block_id, eur.block_id]
    assert texts(legs(outcome)[0].body, "IntrBkSttlmAmt") == ["7.00"]


# -- pain.002 in every version ---------------------------------------------------------------------

@pytest.mark.parametrize("version", sorted(INITIATION_REPLY_VERSIONS))
def test_each_version_is_applied_and_answered_in_its_releases_pain002(version: str) -> None:
    number = version.rsplit(".", 1)[-1]
    store = corporate_store()
    blocks = [Block(payments=[Payment(amount="1.00"), outsider("2.00")]),
              Block(debtor_iban=BRUNO, payments=[Payment(creditor_iban=ACME_EUR)])]
    outcome = bus(store).handle(pain001(blocks, version=number).encode())
    assert [t.status for t in outcome.transactions] == ["ACSC", "ACSC", "RJCT"], outcome.summary
    assert outcome.reply.message_type == INITIATION_REPLY_VERSIONS[version] == xsd_valid(outcome.reply.body)
    assert MessageReader().read(outcome.reply.body).document_valid
    assert len(legs(outcome)) == 1 and xsd_valid(legs(outcome)[0].body) == "pacs.008.001.08"


def test_a_schema_invalid_pain001_is_answered_rjct_ff01() -> None:
    message = pain001().replace("<NbOfTxs>", "<Bogus/><NbOfTxs>", 1)
    outcome = bus(corporate_store()).handle(message.encode())
    assert outcome.verdict == "rejected" and texts(outcome.reply.body, "Cd") == ["FF01"]
    xsd_valid(outcome.reply.body)


def test_a_pain001_breaking_a_group_rule_is_rejected_whole() -> None:
    outcome = bus(corporate_store()).handle(pain001(nb_of_txs=3).encode())
    assert outcome.verdict == "rejected" and set(texts(outcome.reply.body, "Cd")) == {"AM18"}


def test_reply_versions_can_be_overridden() -> None:
    from bridge.iso.pacs002 import parse_reply_versions
    overrides = parse_reply_versions("pain.001.001.09=pain.002.001.11")
    outcome = bus(corporate_store(), reply_versions=overrides).handle(pain001().encode())
    assert outcome.reply.message_type == "pain.002.001.11" == xsd_valid(outcome.reply.body)
    with pytest.raises(ValueError, match="not a pain.002 version"):
        parse_reply_versions("pain.001.001.09=pacs.002.001.10")


# -- tokenbridge status ------------------------------------------------------------------------------

def test_status_finds_a_pain001s_transactions_by_msgid_end_to_end_id_and_fiat_leg_uetr() -> None:
    from bridge.status_requests.lifecycle import lifecycle
    store = corporate_store()
    leg, here, refused = outsider("3.00"), Payment(amount="4.00"), Payment(amount="9999.00")
    outcome = bus(store).handle(pain001([Block(payments=[leg, here, refused])], msg_id="ACME-ST").encode())
    uetr = outcome.transactions[0].uetr
    with store() as uow:
        whole = lifecycle("ACME-ST", uow, MessageReader())
        [message] = whole
        assert message.message_type == "pain.001.001.09" and message.sender == ACME
        assert [(t.current.status, t.current.reason) for t in message.transactions] == [
            ("ACSC", None), ("ACSC", None), ("RJCT", "AM04")]
        assert message.transactions[0].operation.operation.kind == "burn"
        # the pain.002, then the fiat leg: every message sent about it
        assert [r.message_type for r in message.replies if not r.message_type.startswith("camt.054")] == [
            "pain.002.001.10", "pacs.008.001.08"]
        [by_e2e] = lifecycle(here.end_to_end_id, uow, MessageReader())
        assert [t.end_to_end_id for t in by_e2e.transactions] == [here.end_to_end_id]
        [by_uetr] = lifecycle(uetr, uow, MessageReader())
        assert [t.uetr for t in by_uetr.transactions] == [uetr]


def test_a_pain001_of_2005_is_refused_with_a_message_reject() -> None:
    """pain.001.001.01 has another shape (GrpId, no MsgId) and its XSD another namespace
    (`urn:iso:std:iso:20022:xsd:`, no `tech:`): one claiming the `tech:` namespace is not acted on."""
    document = (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.01"><pain.001.001.01>'
                f"<GrpHdr><GrpId>OLD-1</GrpId><CreDtTm>2026-12-01T09:00:00</CreDtTm>"
                f"<InitgPty><Nm>{ACME}</Nm></InitgPty></GrpHdr></pain.001.001.01></Document>")
    outcome = bus(corporate_store()).handle(document.encode())
    assert outcome.verdict == "refused" and outcome.reply.message_type == "admi.002.001.01"
    assert outcome.refusal.code == "AG03" and outcome.transactions == () and legs(outcome) == ()
