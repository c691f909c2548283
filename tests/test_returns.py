"""pacs.004 returns through the bus: the reader on the public corpus and on every version, the
stories of the issue (mint then full return; two partials and a third refused; a transfer whose
creditor spent the tokens; a burn minted back; never received, another currency, beyond the
original; replays), each answered with an XSD-valid pacs.002 of the return's release; on the
in-memory fake, and on SQLite and PostgreSQL (`store_url`)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lxml import etree

from bridge.iso.pacs002 import RETURN_REPLY_VERSIONS
from bridge.iso.pacs004_writer import RETURN_VERSIONS, SUPPORTED_VERSIONS, write_return_message
from bridge.iso.reader import MessageReader
from bridge.returns.return_message import PaymentReturnMessage
from builders import ReturnTx, Tx, app_header, pacs004, pacs008, swift_envelope
from reconcile_support import ALICE, BRUNO, FATIMA, ManualClock, clocked, pipeline

ISSUER = "TOKNDEFFXXX"


def answer(body: bytes) -> dict:
    """What a pacs.002 says: version, group status, each (TxSts, reason, OrgnlTxId); XSD-valid."""
    read = MessageReader().read(body)
    assert read.document_valid and read.header_valid in (None, True), read.findings
    root = etree.fromstring(body)
    return dict(version=read.message_type,
                original=(root.findtext(".//{*}OrgnlGrpInfAndSts/{*}OrgnlMsgId"),
                          root.findtext(".//{*}OrgnlGrpInfAndSts/{*}OrgnlMsgNmId")),
                group=root.findtext(".//{*}OrgnlGrpInfAndSts/{*}GrpSts"),
                transactions=[(t.findtext("{*}TxSts"), t.findtext("{*}StsRsnInf/{*}Rsn/{*}Cd")
                               or t.findtext("{*}StsRsnInf/{*}StsRsn/{*}Cd"), t.findtext("{*}OrgnlTxId"))
                              for t in root.iter("{*}TxInfAndSts")])


def money(store) -> tuple[dict, dict]:
    with store() as uow:
        return {b.wallet: b.balance for b in uow.ledger.balances() if b.balance}, uow.ledger.supply()


def invariants(store) -> None:
    """Supply equals the sum of the balances per currency; no balance is negative."""
    with store() as uow:
        balances = uow.ledger.balances()
        assert all(b.balance >= 0 for b in balances)
        totals: dict[str, int] = {}
        for b in balances:
            totals[b.currency] = totals.get(b.currency, 0) + b.balance
        assert {c: s for c, s in uow.ledger.supply().items() if s} == {c: t for c, t in totals.items() if t}


# -- the reader ---------------------------------------------------------------------------------

def corpus_rows(corpus_root: Path) -> dict[str, str]:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        return {row["local_path"]: row["valid"] for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document" and "pacs.004" in row["namespace"]}


def test_every_corpus_pacs004_reads_and_its_verdict_agrees(corpus_root: Path, reader) -> None:
    rows = corpus_rows(corpus_root)
    assert len(rows) == 25
    for local, valid in rows.items():
        read = reader.read((corpus_root / local).read_bytes())
        assert read.document_valid == (valid == "yes"), (local, read.findings)
        assert isinstance(read.payload, PaymentReturnMessage), (local, read.findings)
        assert read.message_id == read.payload.message_id and read.payload.transactions, local
        for tx in read.payload.transactions:
            assert tx.returned.value >= 0 and tx.returned.currency, local
            assert tx.reason.code or tx.reason.proprietary, local


@pytest.mark.parametrize("version", [f"{n:02d}" for n in range(1, 16)])
def test_every_version_reads_the_same_return(version: str, reader) -> None:
    uetr = "8a562c67-ca16-48ba-b074-65581be6f011"
    body = pacs004([ReturnTx(amount="12.34", msg_id="PAY-1", end_to_end_id="E2E-1", tx_id="TX-1",
                             instr_id="I-1", uetr=uetr, return_id="RTR-1")], version=version, msg_id="RTR-MSG")
    read = reader.read(body.encode())
    assert read.valid, read.findings
    tx = read.payload.transactions[0]
    assert (read.payload.message_type, tx.return_id, tx.original_message.message_id, tx.instruction_id,
            tx.end_to_end_id, tx.transaction_id, str(tx.returned), tx.reason.code) == (
        f"pacs.004.001.{version}", "RTR-1", "PAY-1", "I-1", "E2E-1", "TX-1", "12.34 EUR", "AC04")
    assert tx.uetr == (uetr if int(version) >= 9 else None)
    assert read.payload.instructing_agent.bic == ISSUER


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_writer_is_xsd_valid_in_every_version_and_read_back(version: str, reader) -> None:
    read = reader.read(pacs004([ReturnTx(msg_id="PAY-1", end_to_end_id="E2E-1", uetr=
                                         "8a562c67-ca16-48ba-b074-65581be6f011", reason="MS02")],
                               version=version[-2:]).encode())
    body = write_return_message(read.payload, version)
    again = reader.read(body)
    assert again.valid, (version, again.findings)
    assert again.payload.transactions == read.payload.transactions


def test_version_tables_pair_each_release() -> None:
    assert RETURN_VERSIONS["pacs.008.001.08"] == "pacs.004.001.09"
    assert RETURN_VERSIONS["pacs.008.001.14"] == "pacs.004.001.15"
    assert RETURN_REPLY_VERSIONS["pacs.004.001.09"] == "pacs.002.001.10"
    assert RETURN_REPLY_VERSIONS["pacs.004.001.15"] == "pacs.002.001.16"
    assert sorted(RETURN_REPLY_VERSIONS) == list(SUPPORTED_VERSIONS)


# -- the stories --------------------------------------------------------------------------------

def bank_on(store):
    clock = ManualClock()
    store = clocked(store, clock)
    return store, pipeline(store, clock, issuer_bic=ISSUER)


@pytest.fixture()
def bank(memory_registry):
    return bank_on(memory_registry)


@pytest.fixture()
def real_bank(registry):
    return bank_on(registry)


def pay(bus, tx: Tx, msg_id: str, sender: str = "BNPAFRPPXXX") -> None:
    outcome = bus.handle(pacs008([tx], msg_id=msg_id, instructing_bic=sender).encode())
    assert outcome.verdict == "accepted", outcome.summary


def give_back(bus, *returns: ReturnTx, version: str = "09", sender: str = ISSUER, header: bool = False,
              msg_id: str | None = None) -> dict:
    document = pacs004(list(returns), version=version, msg_id=msg_id, instructing_bic=sender)
    body = (swift_envelope(document, app_header(msg_def=f"pacs.004.001.{version}", sender=sender,
                                                receiver=ISSUER, biz_msg_id="BIZ-RTR"))
            if header else document)
    outcome = bus.handle(body.encode())
    assert outcome.reply is not None, outcome.summary
    found = answer(outcome.reply.body)
    found["verdict"] = outcome.verdict
    found["operations"] = [t.operation.kind if t.operation else None for t in outcome.transactions]
    return found


def returning(tx: Tx, amount: str, **changes) -> ReturnTx:
    return ReturnTx(amount=amount, msg_id="PAY-1", end_to_end_id=tx.end_to_end_id, **changes)


def story_mint_then_full_return(store, bus) -> None:
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    full = returning(tx, "100.00", return_id="RTR-1")
    found = give_back(bus, full, header=True)
    assert found["version"] == "pacs.002.001.10" and found["group"] == "ACSC"
    assert found["transactions"] == [("ACSC", None, "RTR-1")] and found["operations"] == ["burn"]
    assert money(store) == ({}, {"EUR": 0})
    invariants(store)
    # Resent (new MsgId, same RtrId): a replay, nothing applied; one cent more: nothing left (ARDT).
    assert give_back(bus, full)["transactions"] == [("ACSC", None, "RTR-1")]
    assert give_back(bus, returning(tx, "0.01"))["transactions"][0][:2] == ("RJCT", "ARDT")
    assert money(store) == ({}, {"EUR": 0})


def story_partials(store, bus) -> None:
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    first = give_back(bus, returning(tx, "40.00", uetr=tx.uetr))
    second = give_back(bus, returning(tx, "50.00"), version="15")
    third = give_back(bus, returning(tx, "10.01"), version="02")
    assert [f["group"] for f in (first, second, third)] == ["ACSC", "ACSC", "RJCT"]
    assert third["transactions"][0][:2] == ("RJCT", "AM09") and third["version"] == "pacs.002.001.03"
    assert second["version"] == "pacs.002.001.16"
    assert money(store) == ({"w-alice": 1000}, {"EUR": 1000})
    invariants(store)


def test_mint_then_full_return(bank) -> None:
    story_mint_then_full_return(*bank)


def test_two_partial_returns_and_a_third_refused(bank) -> None:
    story_partials(*bank)


def test_stories_on_sqlite_and_postgresql(real_bank) -> None:
    story_mint_then_full_return(*real_bank)
    store, bus = real_bank
    tx = Tx(amount="30.00", debtor_iban=FATIMA, creditor_iban=BRUNO)
    pay(bus, tx, "PAY-2")
    first = give_back(bus, ReturnTx(amount="20.00", msg_id="PAY-2", end_to_end_id=tx.end_to_end_id))
    second = give_back(bus, ReturnTx(amount="20.00", uetr=tx.uetr, msg_id=None))
    assert (first["group"], second["transactions"][0][:2]) == ("ACSC", ("RJCT", "AM09"))
    assert money(store) == ({"w-bruno": 1000}, {"EUR": 1000})
    invariants(store)
    with store() as uow:
        assert uow.returns.returned(f"uetr:{tx.uetr}") == 2000
        assert [e.amount for e in uow.returns.entries(f"uetr:{tx.uetr}")] == [2000]


def spent_transfer(bus) -> Tx:
    """100.00 minted to Alice, 60.00 of it transferred to Bruno, who paid 50.00 away: the
    transfer, which Bruno can no longer give back in full."""
    pay(bus, Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-0")
    transfer = Tx(amount="60.00", debtor_iban=ALICE, creditor_iban=BRUNO, debtor_bic=ISSUER)
    pay(bus, transfer, "PAY-1", sender=ISSUER)
    pay(bus, Tx(amount="50.00", debtor_iban=BRUNO, creditor_iban=FATIMA, debtor_bic=ISSUER), "PAY-2",
        sender=ISSUER)
    return transfer


def test_a_transfer_whose_creditor_spent_the_tokens_is_refused_am04(bank) -> None:
    store, bus = bank
    transfer = spent_transfer(bus)
    before = money(store)
    found = give_back(bus, returning(transfer, "60.00"))
    assert found["transactions"][0][:2] == ("RJCT", "AM04") and found["verdict"] == "rejected"
    assert money(store) == before
    invariants(store)
    with store() as uow:  # nothing counted: the whole transfer can still come back later
        assert uow.returns.returned(f"uetr:{transfer.uetr}") == 0


def test_a_burn_returned_is_minted_back_to_the_debtor(bank) -> None:
    store, bus = bank
    pay(bus, Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-0")
    burn = Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=FATIMA, debtor_bic=ISSUER,
              creditor_bic="BNPAFRPPXXX")
    pay(bus, burn, "PAY-1", sender=ISSUER)
    assert money(store) == ({"w-alice": 7000}, {"EUR": 7000})
    # A credit back needs no issuer channel: the bank the payment went to may return it.
    found = give_back(bus, returning(burn, "30.00"), sender="BNPAFRPPXXX")
    assert found["transactions"][0][:2] == ("ACSC", None) and found["operations"] == ["mint"]
    assert money(store) == ({"w-alice": 10000}, {"EUR": 10000})
    invariants(store)


def test_refusals_are_answered_and_change_nothing(bank) -> None:
    store, bus = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    before = money(store)
    found = give_back(bus, ReturnTx(amount="1.00", msg_id="PAY-404", end_to_end_id="NOPE"),
                      returning(tx, "1.00", currency="USD"), returning(tx, "100.01"))
    assert [t[:2] for t in found["transactions"]] == [("RJCT", "AG09"), ("RJCT", "AM11"), ("RJCT", "AM09")]
    assert found["group"] == "RJCT" and found["verdict"] == "rejected"
    # A burn of Alice's tokens asked by another bank than the issuer: AG01, nothing moves.
    forbidden = give_back(bus, returning(tx, "1.00"), sender="BNPAFRPPXXX")
    assert forbidden["transactions"][0][:2] == ("RJCT", "AG01")
    assert money(store) == before
    invariants(store)


def test_the_same_return_id_with_other_content_is_refused_am05(bank) -> None:
    store, bus = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    assert give_back(bus, returning(tx, "10.00", return_id="R-1"))["group"] == "ACSC"
    again = give_back(bus, returning(tx, "20.00", return_id="R-1"))
    assert again["transactions"][0][:2] == ("RJCT", "AM05")
    assert money(store) == ({"w-alice": 9000}, {"EUR": 9000})


def test_a_dry_run_applies_nothing(bank) -> None:
    store, bus = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    outcome = bus.handle(pacs004([returning(tx, "100.00")]).encode(), dry_run=True)
    assert [t.result for t in outcome.transactions] == ["planned"]
    assert money(store) == ({"w-alice": 10000}, {"EUR": 10000})


def test_a_status_request_says_how_much_was_returned(bank) -> None:
    from builders import StatusTx, pacs028
    store, bus = bank
    tx = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    asked = pacs028([StatusTx(uetr=tx.uetr)]).encode()
    give_back(bus, returning(tx, "40.00"))
    infos = [t.info for t in bus.handle(asked).transactions]
    assert infos == ["partly returned: 40.00 of 100.00 EUR"]
    give_back(bus, returning(tx, "60.00"))
    reply = bus.handle(pacs028([StatusTx(msg_id="PAY-1", end_to_end_id=tx.end_to_end_id)]).encode()).reply
    assert answer(reply.body)["transactions"] == [("ACSC", None, tx.tx_id)]
    assert b"fully returned (100.00 EUR)" in reply.body


def test_the_return_version_mapping_is_configurable(bank) -> None:
    from adapters.bootstrap import bridge_config
    from adapters.config import load_settings
    from bridge.config import BridgeConfig
    from bridge.iso.pacs004_writer import parse_return_versions, return_version
    from bridge.payments.originals import OriginalRefs, find_original
    from bridge.returns.return_message import ReturnReason
    from bridge.returns.service import return_payment
    assert parse_return_versions(" pacs.008.001.08=pacs.004.001.10 ,") == {"pacs.008.001.08": "pacs.004.001.10"}
    for bad in ("pacs.008.001.08", "pacs.008.001.08=pacs.004.001.16", "pacs.028.001.03=pacs.004.001.09",
                "pacs.008.001.08=pacs.004.001.09,pacs.008.001.08=pacs.004.001.10"):
        with pytest.raises(ValueError):
            parse_return_versions(bad)
    with pytest.raises(ValueError, match="TOKENBRIDGE_RETURN_VERSIONS"):
        load_settings({"TOKENBRIDGE_RETURN_VERSIONS": "pacs.008.001.08=pacs.002.001.10"})
    config = bridge_config(load_settings({"TOKENBRIDGE_RETURN_VERSIONS": "pacs.008.001.08=pacs.004.001.13"}))
    assert return_version("pacs.008.001.08", config.return_versions) == "pacs.004.001.13"
    assert return_version("pacs.008.001.02") == "pacs.004.001.02"
    store, bus = bank
    tx = Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    pay(bus, tx, "PAY-1")
    with store() as uow:
        original = find_original(OriginalRefs(uetr=tx.uetr), None, uow, MessageReader())
        outcome = return_payment(uow, original, reason=ReturnReason("CUST"),
                                 config=BridgeConfig(return_versions=config.return_versions), now=store.clock())
    assert outcome.message.message_type == "pacs.004.001.13"
    assert MessageReader().read(outcome.message.body).valid


def test_a_refused_return_leaves_no_record_in_the_store(real_bank) -> None:
    from sqlalchemy import func, select

    from adapters.sql.tables import payment_returns, return_entries
    store, bus = real_bank
    transfer = spent_transfer(bus)
    assert give_back(bus, returning(transfer, "60.00"))["transactions"][0][:2] == ("RJCT", "AM04")
    with store.engine.connect() as connection:
        for table in (payment_returns, return_entries):
            assert connection.execute(select(func.count()).select_from(table)).scalar() == 0


def test_another_bank_returns_only_its_own_earlier_payments(bank) -> None:
    store, bus = bank
    pay(bus, Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-0")
    burn = Tx(amount="30.00", debtor_iban=ALICE, creditor_iban=FATIMA, debtor_bic=ISSUER,
              creditor_bic="BNPAFRPPXXX")
    pay(bus, burn, "PAY-1", sender=ISSUER)
    stranger = give_back(bus, returning(burn, "30.00"), sender="BARCGB22XXX")
    assert stranger["transactions"][0][:2] == ("RJCT", "AG01")
    assert money(store) == ({"w-alice": 7000}, {"EUR": 7000})
    assert give_back(bus, returning(burn, "30.00"), sender="BNPAFRPP")["transactions"][0][:2] == ("ACSC", None)
    assert money(store) == ({"w-alice": 10000}, {"EUR": 10000})
