"""The pipeline end to end: effects, replies, replays. Its logic runs on the in-memory fake of the
ports (tests/fakes.py); what the store must keep (balances, inbox, outbox, a dry run's rollback)
runs on the real stores too (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from lxml import etree

from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from builders import Tx, app_header, pacs008, swift_envelope

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
ERIK, IVO = "DE28500199000385091644", "DE10500199000221870359"
CHIYO, DANA = "JP-TANAKA-001", "KW03TOKN0000000000000045301187"
FATIMA, GEORGE = "FR7630004008280001058392658", "GB52BARC20325373491826"
P2 = "{urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10}"


def pipeline(store, **config) -> MessageBus:
    return MessageBus(MessageReader(), store, BridgeConfig(**config), is_transient=store.is_transient)


def mint(amount="100.00", to=ALICE, **kw) -> Tx:
    return Tx(amount=amount, debtor_iban=FATIMA, creditor_iban=to, **kw)


def state(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances()},
                uow.ledger.supply())


def reply_statuses(body: bytes) -> tuple[str, list[tuple[str, str | None]]]:
    root = etree.fromstring(body)
    document = root if root.tag.endswith("Document") else next(e for e in root if e.tag.endswith("Document"))
    ns = etree.QName(document).namespace
    group = document.findtext(f".//{{{ns}}}GrpSts")
    txs = [(t.findtext(f"{{{ns}}}TxSts"), t.findtext(f"{{{ns}}}StsRsnInf/{{{ns}}}Rsn/{{{ns}}}Cd"))
           for t in document.iter(f"{{{ns}}}TxInfAndSts")]
    return group, txs


def test_mint_transfer_burn_move_tokens_and_answer_acsc(registry) -> None:
    run = pipeline(registry)
    outcomes = [run.handle(pacs008([mint("1250.00")]).encode()),
                run.handle(pacs008([Tx(amount="200.50", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode()),
                run.handle(pacs008([Tx(amount="50.25", debtor_iban=BRUNO, creditor_iban=GEORGE)]).encode())]
    assert [o.verdict for o in outcomes] == ["accepted"] * 3
    assert [o.transactions[0].operation.kind for o in outcomes] == ["mint", "transfer", "burn"]
    balances, supply = state(registry)
    assert balances == {("w-alice", "EUR"): 104950, ("w-bruno", "EUR"): 15025}
    assert supply == {"EUR": 119975}
    for outcome in outcomes:
        assert outcome.reply.message_type == "pacs.002.001.10"
        assert reply_statuses(outcome.reply.body) == ("ACSC", [("ACSC", None)])
        assert MessageReader().read(outcome.reply.body).valid


def test_every_reject_reason_in_one_partial_message(memory_registry) -> None:
    message = pacs008([
        mint("10.00"),                                             # ACSC
        Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ERIK),  # blocked
        Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=IVO),   # closed
        Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=GEORGE),  # nothing tokenized
        Tx(amount="5", currency="JPY", debtor_iban=FATIMA, creditor_iban=ALICE),  # currency
        Tx(amount="999.00", debtor_iban=BRUNO, creditor_iban=GEORGE),  # insufficient
        Tx(amount="1.001", debtor_iban=FATIMA, creditor_iban=ALICE),  # precision rule
        Tx(amount="0.00", debtor_iban=FATIMA, creditor_iban=ALICE),   # zero
    ], ctrl_sum=None)
    outcome = pipeline(memory_registry).handle(message.encode())
    assert outcome.verdict == "partial"
    assert [(t.status, t.reason) for t in outcome.transactions] == [
        ("ACSC", None), ("RJCT", "AC06"), ("RJCT", "AC04"), ("RJCT", "AC03"), ("RJCT", "AM03"),
        ("RJCT", "AM04"), ("RJCT", "AM12"), ("RJCT", "AM01")]
    group, txs = reply_statuses(outcome.reply.body)
    assert group == "PART" and txs == [(t.status, t.reason) for t in outcome.transactions]
    assert state(memory_registry) == ({("w-alice", "EUR"): 1000}, {"EUR": 1000})


def test_amounts_per_currency_exponent(memory_registry) -> None:
    run = pipeline(memory_registry)
    run.handle(pacs008([Tx(amount="150000", currency="JPY", debtor_iban=FATIMA, creditor_iban=None,
                           creditor_other=CHIYO)]).encode())
    run.handle(pacs008([Tx(amount="12.345", currency="KWD", debtor_iban=FATIMA, creditor_iban=DANA)]).encode())
    assert state(memory_registry)[1] == {"JPY": 150000, "KWD": 12345}


def test_replaying_the_same_bytes_answers_the_same_and_changes_nothing(registry) -> None:
    run = pipeline(registry)
    message = pacs008([mint("10.00"), Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ERIK)]).encode()
    first = run.handle(message)
    before = state(registry)
    again = run.handle(message)
    assert again.seen_before and again.verdict == first.verdict == "partial"
    assert again.reply.body == first.reply.body and again.reply.message_id == first.reply.message_id
    assert state(registry) == before


def test_same_key_resent_in_a_new_message_is_replayed_without_effect(memory_registry) -> None:
    run = pipeline(memory_registry)
    uetr = "7f9c1e2a-3b4d-4c5e-8f6a-7b8c9d0e1f2a"
    run.handle(pacs008([mint("10.00", uetr=uetr)], msg_id="FIRST").encode())
    resent = run.handle(pacs008([mint("10.00", uetr=uetr)], msg_id="RESENT").encode())
    assert resent.verdict == "accepted" and resent.transactions[0].result == "replayed"
    assert state(memory_registry)[1] == {"EUR": 1000}


def test_same_key_with_different_content_is_a_duplicate_am05(memory_registry) -> None:
    run = pipeline(memory_registry)
    uetr = "7f9c1e2a-3b4d-4c5e-8f6a-7b8c9d0e1f2b"
    run.handle(pacs008([mint("10.00", uetr=uetr)]).encode())
    other = run.handle(pacs008([mint("99.00", uetr=uetr)]).encode())
    assert [(t.status, t.reason) for t in other.transactions] == [("RJCT", "AM05")]
    assert state(memory_registry)[1] == {"EUR": 1000}


def test_schema_invalid_pacs008_is_answered_rjct_ff01(memory_registry) -> None:
    broken = pacs008([mint()], msg_id="BROKEN-1").replace("<NbOfTxs>", "<Bogus/><NbOfTxs>")
    outcome = pipeline(memory_registry).handle(broken.encode())
    assert outcome.verdict == "rejected" and outcome.message_id == "BROKEN-1"
    group, txs = reply_statuses(outcome.reply.body)
    assert group == "RJCT" and txs == []
    assert b"<Cd>FF01</Cd>" in outcome.reply.body
    assert state(memory_registry)[1] == {}


def test_message_level_rule_rejects_every_transaction(memory_registry) -> None:
    outcome = pipeline(memory_registry).handle(pacs008([mint(), mint()], nb_of_txs=3).encode())
    assert [(t.status, t.reason) for t in outcome.transactions] == [("RJCT", "AM18")] * 2
    assert reply_statuses(outcome.reply.body)[0] == "RJCT"
    assert state(memory_registry)[1] == {}


def test_not_iso_is_refused_recorded_and_answered_with_a_message_reject(registry) -> None:
    run = pipeline(registry)
    outcome = run.handle(b"<invoice/>")
    # issue 15: answered with an admi.002 (was: no reply)
    assert outcome.verdict == "refused" and outcome.reply.message_type == "admi.002.001.01"
    assert "no ISO 20022 Document" in outcome.summary
    again = run.handle(b"<invoice/>")
    assert again.seen_before and again.reply.message_id == outcome.reply.message_id


def test_apphdr_in_gives_apphdr_out_related_to_the_original(memory_registry) -> None:
    message = swift_envelope(pacs008([mint()]), app_header(biz_msg_id="BIZ-IN-7", sender="BNPAFRPPXXX"))
    outcome = pipeline(memory_registry, issuer_bic="TOKNDEFFXXX").handle(message.encode())
    read = MessageReader().read(outcome.reply.body)
    assert read.valid and read.message_type == "pacs.002.001.10"
    assert (read.header.from_bic, read.header.to_bic) == ("TOKNDEFFXXX", "BNPAFRPPXXX")
    assert read.header.business_message_id != "BIZ-IN-7"
    assert b"<BizMsgIdr>BIZ-IN-7</BizMsgIdr>" in outcome.reply.body.replace(b"h:", b"")
    assert outcome.reply.correlation_id == "BIZ-IN-7"


def test_reply_version_follows_the_input_release(memory_registry) -> None:
    run = pipeline(memory_registry)
    assert run.handle(pacs008([mint()], version="02").encode()).reply.message_type == "pacs.002.001.03"
    assert run.handle(pacs008([mint()], version="13").encode()).reply.message_type == "pacs.002.001.15"
    assert run.handle(pacs008([mint()], version="14").encode()).reply.message_type == "pacs.002.001.16"
    custom = pipeline(memory_registry, reply_versions={"pacs.008.001.08": "pacs.002.001.12",
                                                       "pacs.008.001.14": "pacs.002.001.15"})
    assert custom.handle(pacs008([mint()]).encode()).reply.message_type == "pacs.002.001.12"
    assert custom.handle(pacs008([mint()], version="14").encode()).reply.message_type == "pacs.002.001.15"


def _the_2026_release_story(store) -> None:
    """pacs.008.001.14 (2026) minted, transferred, burnt and rejected like .13, each answered by
    an XSD-valid pacs.002.001.16 (with an AppHdr related to the original's when it had one);
    replays answer the same and change nothing."""
    issuer = "TOKNDEFFXXX"  # debits come through the issuer's own channel ("Who may cause what")
    run = pipeline(store, issuer_bic=issuer)
    messages = [
        pacs008([mint("1250.00")], version="14").encode(),
        swift_envelope(pacs008([Tx(amount="200.50", debtor_iban=ALICE, creditor_iban=BRUNO, debtor_bic=issuer)],
                               version="14", instructing_bic=issuer),
                       app_header(msg_def="pacs.008.001.14", biz_msg_id="BIZ-2026-2",
                                  sender=issuer, receiver=issuer)).encode(),
        pacs008([Tx(amount="50.25", debtor_iban=BRUNO, creditor_iban=GEORGE, debtor_bic=issuer,
                    creditor_bic="BARCGB22XXX")], version="14", instructing_bic=issuer).encode(),
        pacs008([Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=ERIK)], version="14").encode(),
    ]
    outcomes = [run.handle(message) for message in messages]
    assert [o.verdict for o in outcomes] == ["accepted"] * 3 + ["rejected"]
    assert [o.transactions[0].operation.kind for o in outcomes[:3]] == ["mint", "transfer", "burn"]
    assert [(t.status, t.reason) for t in outcomes[3].transactions] == [("RJCT", "AC06")]
    expected = {("w-alice", "EUR"): 104950, ("w-bruno", "EUR"): 15025}
    assert state(store) == (expected, {"EUR": 119975})
    for outcome in outcomes:
        assert outcome.message_type == "pacs.008.001.14"
        assert outcome.reply.message_type == "pacs.002.001.16"
        read = MessageReader().read(outcome.reply.body)
        assert read.valid and read.message_type == "pacs.002.001.16", read.findings
    assert [reply_statuses(o.reply.body) for o in outcomes] == [("ACSC", [("ACSC", None)])] * 3 + [
        ("RJCT", [("RJCT", "AC06")])]
    answered = MessageReader().read(outcomes[1].reply.body)
    assert answered.header.message_definition_id == "pacs.002.001.16"
    assert answered.header.to_bic == "TOKNDEFFXXX" and outcomes[1].reply.correlation_id == "BIZ-2026-2"
    related = etree.fromstring(outcomes[1].reply.body).xpath(
        "string(//*[local-name()='Rltd']/*[local-name()='MsgDefIdr'])")
    assert related == "pacs.008.001.14"
    for message, first in zip(messages, outcomes):
        again = run.handle(message)
        assert again.seen_before and again.verdict == first.verdict
        assert again.reply.body == first.reply.body
    assert state(store) == (expected, {"EUR": 119975})


def test_the_2026_release_is_applied_and_answered_on_the_fake(memory_registry) -> None:
    _the_2026_release_story(memory_registry)


def test_the_2026_release_is_applied_and_answered_on_the_stores(registry) -> None:
    _the_2026_release_story(registry)


def _return(version: str) -> str:
    """A minimal pacs.004 PmtRtr (one return of an earlier payment), valid in .14 and .15."""
    return (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}"><PmtRtr><GrpHdr>'
            "<MsgId>RTR-1</MsgId><CreDtTm>2026-11-24T10:00:00Z</CreDtTm><NbOfTxs>1</NbOfTxs>"
            "<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf></GrpHdr><TxInf>"
            "<OrgnlEndToEndId>E2E-1</OrgnlEndToEndId>"
            "<OrgnlUETR>7f9c1e2a-3b4d-4c5e-8f6a-7b8c9d0e1f2a</OrgnlUETR>"
            '<RtrdIntrBkSttlmAmt Ccy="EUR">10.00</RtrdIntrBkSttlmAmt>'
            "<RtrRsnInf><Rsn><Cd>AC04</Cd></Rsn></RtrRsnInf></TxInf></PmtRtr></Document>")


def _bank_transfer(version: str) -> str:
    """A minimal pacs.009 FICdtTrf (one bank-to-bank transfer), valid in .12 and .13."""
    return (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}"><FICdtTrf><GrpHdr>'
            "<MsgId>FI-1</MsgId><CreDtTm>2026-11-24T10:00:00Z</CreDtTm><NbOfTxs>1</NbOfTxs>"
            "<SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf></GrpHdr><CdtTrfTxInf>"
            "<PmtId><EndToEndId>E2E-FI-1</EndToEndId></PmtId>"
            '<IntrBkSttlmAmt Ccy="EUR">10.00</IntrBkSttlmAmt>'
            "<Dbtr><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></Dbtr>"
            "<Cdtr><FinInstnId><BICFI>TOKNDEFFXXX</BICFI></FinInstnId></Cdtr>"
            "</CdtTrfTxInf></FICdtTrf></Document>")


def test_the_2026_pacs004_is_read_and_answered_like_earlier_ones(memory_registry) -> None:
    """Issue 15: a pacs.004 is acted on; a return of a payment never received is answered with a
    pacs.002 of the return's release, RJCT AG09, and changes nothing."""
    run = pipeline(memory_registry)
    for version, reply in (("pacs.004.001.14", "pacs.002.001.15"), ("pacs.004.001.15", "pacs.002.001.16")):
        outcome = run.handle(_return(version).encode())
        assert (outcome.verdict, outcome.message_type, outcome.reply.message_type) == (
            "rejected", version, reply), outcome.summary
        assert [(t.status, t.reason) for t in outcome.transactions] == [("RJCT", "AG09")]
        assert MessageReader().read(outcome.reply.body).valid
    assert state(memory_registry) == ({}, {})


@pytest.mark.parametrize("build, earlier, latest", [
    (_bank_transfer, "pacs.009.001.12", "pacs.009.001.13"),
])
def test_the_2026_pacs009_is_validated_and_refused_like_earlier_ones(
        memory_registry, build, earlier: str, latest: str) -> None:
    """Validated against their own XSD, not acted on yet: refused (answered with an admi.002,
    issue 15), recorded once."""
    run = pipeline(memory_registry)
    for version in (earlier, latest):
        read = MessageReader().read(build(version).encode())
        assert read.valid and read.document_valid and read.message_type == version, read.findings
        outcome = run.handle(build(version).encode())
        assert (outcome.verdict, outcome.message_type, outcome.reply.message_type) == (
            "refused", version, "admi.002.001.01")
        assert b"<RjctgPtyRsn>AG03<" in outcome.reply.body
        assert outcome.summary == f"refused: {version} is not a payment instruction this pipeline applies"
        assert run.handle(build(version).encode()).seen_before
        broken = run.handle(build(version).replace("<NbOfTxs>", "<Bogus/><NbOfTxs>").encode())
        assert broken.verdict == "refused" and broken.reply.message_type == "admi.002.001.01"
        assert [f.rule for f in broken.findings][:1] == ["xsd.element_content"]
    assert state(memory_registry) == ({}, {})


def test_dry_run_plans_but_applies_and_records_nothing(registry) -> None:
    run = pipeline(registry)
    message = pacs008([mint("10.00")]).encode()
    planned = run.handle(message, dry_run=True)
    assert planned.transactions[0].result == "planned"
    assert state(registry) == ({}, {})
    assert not run.handle(message).seen_before  # the dry run left no inbox record


def test_only_allowed_senders_may_instruct(memory_registry) -> None:
    run = pipeline(memory_registry, allowed_senders=frozenset({"BARCGB22"}))
    outcome = run.handle(pacs008([mint()], instructing_bic="BNPAFRPPXXX").encode())
    assert [(t.status, t.reason) for t in outcome.transactions] == [("RJCT", "AG01")]
    assert "not allowed" in outcome.transactions[0].info
    assert run.handle(pacs008([mint()], instructing_bic="BARCGB22XXX").encode()).verdict == "accepted"


def test_messages_addressed_to_another_bank_are_rejected(memory_registry) -> None:
    message = swift_envelope(pacs008([mint()]), app_header(receiver="DEUTDEFFXXX"))
    outcome = pipeline(memory_registry, issuer_bic="TOKNDEFFXXX").handle(message.encode())
    assert outcome.transactions[0].reason == "AG01" and state(memory_registry)[1] == {}
