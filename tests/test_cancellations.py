"""camt.056 cancellation requests: the reader on the public corpus and on every version, the
camt.029 writer in every version, and the answers through the bus: on a ledger whose
operations are final once applied (the in-memory fake, SQLite, PostgreSQL) a settled payment
is refused, an unknown one is NOOR, a repeated request is answered the same; nothing changes."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from bridge.bus import MessageBus
from bridge.cancellations.request import CancellationRequestMessage
from bridge.cancellations.resolution import Resolution, TransactionResolution
from bridge.codes import CancellationStatus, Confirmation
from bridge.config import BridgeConfig
from bridge.iso.camt029 import REPLY_VERSIONS, SUPPORTED_VERSIONS, reply_version, write_resolution
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX, SchemaCatalogue
from bridge.iso.pacs002 import parse_reply_versions
from bridge.iso.reader import MessageReader
from bridge.parties import Agent
from bridge.status_requests.request import OriginalGroup
from builders import CancelTx, Tx, app_header, camt056, pacs008, swift_envelope
from test_status_requests import STORY, pipeline, state, written

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"
UETR = "8a562c67-ca16-48ba-b074-65581be6f011"


def resolution(body: bytes) -> dict:
    """What a camt.029 says: version, Sts/Conf, the request answered, each TxInfAndSts; XSD-valid."""
    read, root, document, text = written(body)
    ns = etree.QName(document).namespace
    top = document[0]
    return dict(
        version=read.message_type, confirmation=text(top, "Sts/Conf"),
        request=(text(top, "CxlDtls/OrgnlGrpInfAndSts/OrgnlMsgId"),
                 text(top, "CxlDtls/OrgnlGrpInfAndSts/OrgnlMsgNmId")),
        case=text(top, "RslvdCase/Id"),
        transactions=[(text(t, "OrgnlGrpInf/OrgnlMsgId"), text(t, "OrgnlEndToEndId"), text(t, "OrgnlUETR"),
                       text(t, "TxCxlSts"), text(t, "CxlStsRsnInf/Rsn/Cd") or text(t, "CxlStsRsnInf/Rsn/Prtry"))
                      for t in document.iter(f"{{{ns}}}TxInfAndSts")],
        header=read.header, related=root.findtext(".//{*}AppHdr/{*}Rltd/{*}BizMsgIdr"))


# -- the reader ---------------------------------------------------------------------------------

def test_every_corpus_camt056_reads_and_its_verdict_agrees(corpus_root: Path, reader) -> None:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        rows = {row["local_path"]: row for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document" and "camt.056" in row["namespace"]}
    assert len(rows) == 15  # the three urn:tch wrappers hold no ISO Document (their verdict: no)
    for local, row in rows.items():
        read = reader.read((corpus_root / local).read_bytes())
        assert bool(read.document_valid) == (row["valid"] == "yes"), (local, read.findings)
        if row["valid"] != "yes":
            assert [f.rule for f in read.findings] == ["iso.no-document"], local
            continue
        request = read.payload
        assert isinstance(request, CancellationRequestMessage) and read.findings == [], local
        assert read.message_id == request.assignment_id and request.transactions, local
        tx = request.transactions[0]
        assert tx.end_to_end_id and tx.uetr and tx.reason, local


@pytest.mark.parametrize("version", [f"{n:02d}" for n in range(1, 13)])
def test_every_version_reads_the_same_references(version: str, reader) -> None:
    body = camt056([CancelTx(msg_id="PAY-1", end_to_end_id="E2E-1", tx_id="TX-1", instr_id="I-1",
                             uetr=UETR, reason="CUST")], version=version, assignment_id="CXL-1").encode()
    read = reader.read(body)
    assert read.valid, read.findings
    request = read.payload
    assert (request.message_type, request.assignment_id, request.case_id, request.created_at_text) == (
        f"camt.056.001.{version}", "CXL-1", "CASE-1", "2026-11-24T12:00:00Z")
    assert request.assigner.bic == "BNPAFRPPXXX" == read.sender and request.case_creator.bic == "BNPAFRPPXXX"
    tx = request.transactions[0]
    assert (tx.original_group.message_id, tx.instruction_id, tx.end_to_end_id, tx.transaction_id,
            tx.reason) == ("PAY-1", "I-1", "E2E-1", "TX-1", "CUST")
    assert tx.uetr == (UETR if int(version) >= 8 else None)  # OrgnlUETR from .08


# -- the camt.029 writer ------------------------------------------------------------------------

@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_camt029_version_written_is_xsd_valid(version: str) -> None:
    catalogue = SchemaCatalogue()
    for assigner in ("TOKNDEFFXXX", None):
        written = write_resolution(Resolution(
            "R-1", datetime(2026, 11, 24, tzinfo=timezone.utc), assigner, Agent(member_id="011104238"),
            Confirmation.PARTIALLY_EXECUTED, "CXL-1", "camt.056.001.08", "2026-11-24T12:00:00+01:00",
            case_id="CASE-1", case_creator=Agent(bic="BNPAFRPPXXX"),
            transactions=(TransactionResolution(CancellationStatus.REJECTED,
                                                OriginalGroup("PAY-1", "pacs.008.001.08", None, "2026-11-24T10:00:00Z"),
                                                "I-1", "E2E-1", "TX-1", UETR, "NOOR", "no such payment " * 20),
                          TransactionResolution(CancellationStatus.ACCEPTED, end_to_end_id="E2E-2"),
                          TransactionResolution(CancellationStatus.PENDING, uetr="NOT-A-UETR"))), version)
        schema = catalogue.schema(ISO_NAMESPACE_PREFIX + version)
        assert schema.validate(written), schema.error_log.last_error


def test_each_request_is_answered_in_the_camt029_of_its_release() -> None:
    assert [reply_version(f"camt.056.001.{n:02d}") for n in range(1, 13)] == [
        "camt.029.001.03", "camt.029.001.03", "camt.029.001.04", "camt.029.001.05", "camt.029.001.06",
        "camt.029.001.07", "camt.029.001.08", "camt.029.001.09", "camt.029.001.10", "camt.029.001.11",
        "camt.029.001.13", "camt.029.001.14"]
    assert set(REPLY_VERSIONS.values()) <= set(SUPPORTED_VERSIONS)
    overrides = parse_reply_versions("camt.056.001.08=camt.029.001.10")
    assert reply_version("camt.056.001.08", overrides) == "camt.029.001.10"
    with pytest.raises(ValueError, match="not a camt.029 version"):
        parse_reply_versions("camt.056.001.08=camt.029.001.01")


# -- the answers on a ledger whose operations are final once applied -------------------------

def story(store) -> None:
    """A settled payment asked to be cancelled (refused), asked again (the same), an unknown one
    (NOOR), a rejected one (nothing to cancel): nothing changes."""
    bus = pipeline(store)
    settled = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR,
                 end_to_end_id="E2E-OK", tx_id="TX-OK")
    assert bus.handle(pacs008([settled], msg_id="PAY-OK").encode()).verdict == "accepted"
    before = state(store)
    request = camt056([CancelTx(uetr=UETR), CancelTx(msg_id="PAY-OK", end_to_end_id="E2E-OK"),
                       CancelTx(msg_id="PAY-NONE", end_to_end_id="E2E-NONE")],
                      assignment_id="CXL-1").encode()
    outcome = bus.handle(request)
    assert outcome.verdict == "rejected" and outcome.reply.message_type == "camt.029.001.09"
    assert outcome.emitted == ()  # nothing cancelled: no follow-up
    said = resolution(outcome.reply.body)
    assert said["confirmation"] == "RJCR" and said["request"] == ("CXL-1", "camt.056.001.08")
    assert said["case"] == "CASE-1"
    assert said["transactions"] == [("PAY-OK", "E2E-OK", UETR, "RJCR", "AGNT"),
                                    ("PAY-OK", "E2E-OK", UETR, "RJCR", "AGNT"),
                                    ("PAY-NONE", "E2E-NONE", None, "RJCR", "NOOR")]
    assert state(store) == before

    again = bus.handle(request)  # the same bytes: the first answer, nothing new
    assert again.seen_before and again.reply.message_id == outcome.reply.message_id
    resent = bus.handle(request.replace(b"CXL-1", b"CXL-2"))  # asked again: answered the same
    assert resolution(resent.reply.body)["transactions"] == said["transactions"]
    assert resent.emitted == () and state(store) == before


def test_a_settled_payment_is_not_cancelled_and_asking_changes_nothing(memory_registry) -> None:
    story(memory_registry)


@pytest.mark.slow
def test_a_settled_payment_is_not_cancelled_on_the_real_stores(registry) -> None:
    story(registry)


def test_a_rejected_payment_has_nothing_to_cancel(memory_registry) -> None:
    bus = pipeline(memory_registry)
    bus.handle(pacs008([Tx(debtor_iban=FATIMA, creditor_iban="GB52BARC20325373491826",
                           end_to_end_id="E2E-NO")], msg_id="PAY-NO").encode())  # AC03
    said = resolution(bus.handle(camt056([CancelTx(msg_id="PAY-NO", end_to_end_id="E2E-NO")]).encode()).reply.body)
    assert said["transactions"][0][3:] == ("RJCR", "AGNT")


def test_only_the_payments_sender_may_cancel_it_and_a_header_is_answered_with_one(memory_registry) -> None:
    bus = pipeline(memory_registry, issuer_bic="TOKNDEFFXXX")
    bus.handle(pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE, end_to_end_id="E2E-3", uetr=None)],
                       msg_id="PAY-3").encode())
    document = camt056([CancelTx(msg_id="PAY-3", end_to_end_id="E2E-3")], assignment_id="CXL-3")
    header = app_header(msg_def="camt.056.001.08", biz_msg_id="BIZ-CXL-3")
    said = resolution(bus.handle(swift_envelope(document, header).encode()).reply.body)
    assert said["transactions"][0][3:] == ("RJCR", "AGNT")  # settled
    assert said["related"] == "BIZ-CXL-3" and said["header"].message_definition_id == "camt.029.001.09"
    assert (said["header"].from_bic, said["header"].to_bic) == ("TOKNDEFFXXX", "BNPAFRPPXXX")

    stranger = camt056([CancelTx(msg_id="PAY-3", end_to_end_id="E2E-3")], assigner_bic="DEUTDEFFXXX")
    outcome = bus.handle(stranger.encode())
    assert outcome.verdict == "rejected"
    assert resolution(outcome.reply.body)["transactions"][0][3:] == ("RJCR", "AGNT")
    assert "only the payment's sender" in outcome.transactions[0].info


def test_an_unreadable_request_is_answered_with_an_admi002(memory_registry) -> None:
    body = camt056([CancelTx(msg_id="P", end_to_end_id="E")]).replace("<CreDtTm>", "<CreDtTm>x").encode()
    outcome = pipeline(memory_registry).handle(body)
    assert outcome.verdict == "refused" and outcome.reply.message_type == "admi.002.001.01"


def test_the_cancellation_policy_is_checked_when_loaded() -> None:
    from adapters.config import load_settings
    assert load_settings({"TOKENBRIDGE_CANCELLATION_POLICY": "refuse"}).cancellation_policy == "refuse"
    assert load_settings({}).cancellation_policy == "refuse"
    assert load_settings({"TOKENBRIDGE_CANCELLATION_POLICY": "return"}).cancellation_policy == "return"
    with pytest.raises(ValueError, match="must be one of refuse, return"):
        load_settings({"TOKENBRIDGE_CANCELLATION_POLICY": "maybe"})


def returned_on_request(store) -> None:
    """The policy `return`: a settled payment asked to be cancelled is returned in full (pacs.004,
    reason FOCR), the camt.029 saying so; asked again, no second return; the money stays exact."""
    bus = pipeline(store, return_on_cancellation=True)
    paid = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR,
              end_to_end_id="E2E-RT", tx_id="TX-RT")
    assert bus.handle(pacs008([paid], msg_id="PAY-RT").encode()).verdict == "accepted"
    balances, supply = state(store)
    outcome = bus.handle(camt056([CancelTx(msg_id="PAY-RT", end_to_end_id="E2E-RT")],
                                 assignment_id="CXL-RT-1").encode())
    said = resolution(outcome.reply.body)
    assert said["confirmation"] == "CNCL" and said["transactions"] == [("PAY-RT", "E2E-RT", UETR, "ACCR", None)]
    [pacs004, notice] = outcome.emitted  # the return, then the camt.054 of its reversal (Alice's)
    assert notice.message_type == "camt.054.001.08" and b"<CdtDbtInd>DBIT</CdtDbtInd>" in notice.body
    assert pacs004.message_type == "pacs.004.001.09" and pacs004.message_id in outcome.transactions[0].info
    returned = MessageReader().read(pacs004.body)
    assert returned.valid, returned.findings
    [tx] = returned.payload.transactions
    assert (tx.end_to_end_id, tx.uetr, str(tx.returned.value), tx.reason.code) == ("E2E-RT", UETR, "100.00", "FOCR")
    after = state(store)
    assert after[1]["EUR"] == supply["EUR"] - 10000  # the mint's reversal: a burn
    assert after[0][("w-alice", "EUR")] == balances[("w-alice", "EUR")] - 10000
    resent = bus.handle(camt056([CancelTx(uetr=UETR)], assignment_id="CXL-RT-2").encode())
    assert resolution(resent.reply.body)["transactions"][0][3] == "ACCR"
    assert resent.emitted == () and "earlier request" in resent.transactions[0].info
    assert state(store) == after


def test_a_settled_payment_is_returned_on_request_under_the_return_policy(memory_registry) -> None:
    returned_on_request(memory_registry)


@pytest.mark.slow
def test_returned_on_request_on_the_real_stores(registry) -> None:
    returned_on_request(registry)


# -- the samples, through replay and the worker -------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_ANSWERS = {
    "01": ("camt.029.001.09", "RJCR", [("RJCR", "AGNT"), ("RJCR", "AGNT"), ("RJCR", "NOOR")]),
    "02": ("camt.029.001.14", "RJCR", [("RJCR", "AGNT")])}


def test_the_sample_cancellation_requests_after_the_sample_payments(memory_registry) -> None:
    bus = pipeline(memory_registry, **STORY)
    for path in sorted((SAMPLES / "pacs008").glob("*.xml")):
        bus.handle(path.read_bytes())
    before = state(memory_registry)
    for path in sorted((SAMPLES / "camt056").glob("*.xml")):
        version, confirmation, transactions = SAMPLE_ANSWERS[path.name[:2]]
        said = resolution(bus.handle(path.read_bytes()).reply.body)
        assert (said["version"], said["confirmation"]) == (version, confirmation), path.name
        assert [t[3:] for t in said["transactions"]] == transactions, path.name
    assert state(memory_registry) == before
    first = resolution(bus.handle((SAMPLES / "camt056").glob("01-*.xml").__next__().read_bytes()).reply.body)
    assert first["related"] == "BNPA20261124-1830-CXL-001" and first["case"] == "BNPA-CASE-2026-1124-07"
    assert first["transactions"][0][:3] == ("BNPA20261124-0917-004417", "OUALI-LOYER-2026-11",
                                            "e9b0e81b-975e-4591-bb9f-15fccadfc99f")


@pytest.mark.slow
def test_replay_answers_the_sample_requests(seeded_cli, tmp_path: Path) -> None:
    """`tokenbridge replay` (files, in-process, the SQL store): the same bus as the worker."""
    seeded_cli("replay", str(SAMPLES / "pacs008"))
    out = tmp_path / "replies"
    result = seeded_cli("replay", "--out", str(out), str(SAMPLES / "camt056"))
    assert result.exit_code == 1 and "messages rejected" in result.output  # every cancellation refused
    replies = sorted(out.glob("*.camt.029.*.xml"))
    assert sorted(resolution(r.read_bytes())["version"] for r in replies) == ["camt.029.001.09", "camt.029.001.14"]
    balances = seeded_cli("balances", "--json").output
    seeded_cli("replay", "--out", str(tmp_path / "again"), str(SAMPLES / "camt056"))
    assert seeded_cli("balances", "--json").output == balances  # replayed: nothing changes


@pytest.mark.slow
def test_the_worker_answers_a_cancellation_request_on_the_out_exchange(registry, amqp_prefix) -> None:
    """The RabbitMQ worker (real broker, real store): the reply routed by its type."""
    from broker import drain_answers
    from test_worker import RunningWorker, publish

    payments = [(SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml").read_bytes()]
    request = next((SAMPLES / "camt056").glob("01-*.xml")).read_bytes()
    bus = MessageBus(MessageReader(), registry, BridgeConfig(**STORY), is_transient=registry.is_transient)
    with RunningWorker(registry, amqp_prefix, pipeline=bus):
        publish(amqp_prefix, payments)
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)) == 1
        publish(amqp_prefix, [request])
        (properties, body), = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
    assert properties.type == "camt.029.001.09"
    assert properties.correlation_id == "BNPA20261124-1830-CXL-001"
    assert [t[3:] for t in resolution(body)["transactions"]] == [("RJCR", "AGNT"), ("RJCR", "NOOR"), ("RJCR", "NOOR")]
