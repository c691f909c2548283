"""pacs.028 status requests: the reader on the public corpus and on every version, and the
answer (a pacs.002 of the request's release) for each state of a payment, through the bus: on
the in-memory fake of the ports, and the whole story on SQLite and PostgreSQL too."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lxml import etree

from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.iso.pacs002 import STATUS_REQUEST_REPLY_VERSIONS, parse_reply_versions, reply_version
from bridge.iso.reader import MessageReader
from bridge.status_requests.request import StatusRequestMessage
from builders import StatusTx, Tx, app_header, pacs008, pacs028, swift_envelope

ALICE, FATIMA, GEORGE = "DE82500199000417283905", "FR7630004008280001058392658", "GB52BARC20325373491826"
UETR = "8a562c67-ca16-48ba-b074-65581be6f011"
P2 = "urn:iso:std:iso:20022:tech:xsd:pacs.002.001."


def pipeline(store, **config) -> MessageBus:
    return MessageBus(MessageReader(), store, BridgeConfig(**config), is_transient=store.is_transient)


def written(body: bytes):
    """A reply the bridge wrote, XSD-valid (Document and AppHdr): what the reader made of it, its
    root, its Document, and `text(node, path)` reading a path in the Document's namespace."""
    read = MessageReader().read(body)
    assert read.document_valid and read.header_valid in (None, True), read.findings
    root = etree.fromstring(body)
    document = root if root.tag.endswith("Document") else next(e for e in root if e.tag.endswith("Document"))
    ns = etree.QName(document).namespace

    def text(node, path):
        return node.findtext("/".join(f"{{{ns}}}{step}" for step in path.split("/")))
    return read, root, document, text


def answer(body: bytes) -> dict:
    """What a pacs.002 says: its version, OrgnlGrpInfAndSts, each TxInfAndSts; XSD-valid."""
    read, root, document, text = written(body)
    ns = etree.QName(document).namespace
    group = document.find(f".//{{{ns}}}OrgnlGrpInfAndSts")
    return dict(
        version=read.message_type,
        original=(text(group, "OrgnlMsgId"), text(group, "OrgnlMsgNmId"), text(group, "OrgnlCreDtTm")),
        group=(text(group, "GrpSts"), text(group, "StsRsnInf/Rsn/Cd")),
        transactions=[(text(t, "OrgnlEndToEndId"), text(t, "OrgnlTxId"), text(t, "OrgnlUETR"),
                       text(t, "TxSts"), text(t, "StsRsnInf/Rsn/Cd"))
                      for t in document.iter(f"{{{ns}}}TxInfAndSts")],
        header=read.header,
        related=root.findtext(".//{*}AppHdr/{*}Rltd/{*}BizMsgIdr"))


def state(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances()}, uow.ledger.supply())


# -- the reader ---------------------------------------------------------------------------------

def corpus_rows(corpus_root: Path) -> dict[str, str]:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        return {row["local_path"]: row["valid"] for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document" and "pacs.028" in row["namespace"]}


def test_every_corpus_pacs028_reads_and_its_verdict_agrees(corpus_root: Path, reader) -> None:
    rows = corpus_rows(corpus_root)
    assert len(rows) == 5
    for local, valid in rows.items():
        read = reader.read((corpus_root / local).read_bytes())
        assert read.document_valid == (valid == "yes"), (local, read.findings)
        request = read.payload
        assert isinstance(request, StatusRequestMessage) and read.findings == [], local
        assert read.message_id == request.message_id and len(request.transactions) == 1
        tx = request.transactions[0]
        assert tx.original_group is not None and tx.original_group.message_id and tx.end_to_end_id
        assert tx.instructing_agent is not None and tx.instructing_agent.member_id == "011104238"


@pytest.mark.parametrize("version", [f"{n:02d}" for n in range(1, 8)])
def test_every_version_reads_the_same_references(version: str, reader) -> None:
    body = pacs028([StatusTx(msg_id="PAY-1", end_to_end_id="E2E-1", tx_id="TX-1", instr_id="I-1",
                             uetr=UETR)], version=version, msg_id="STS-1").encode()
    read = reader.read(body)
    assert read.valid, read.findings
    request = read.payload
    assert (request.message_type, request.message_id, request.created_at_text) == (
        f"pacs.028.001.{version}", "STS-1", "2026-11-24T11:00:00Z")
    assert request.instructing_agent.bic == "BNPAFRPPXXX" and read.sender == "BNPAFRPPXXX"
    tx = request.transactions[0]
    assert (tx.status_request_id, tx.original_group.message_id, tx.original_group.message_type,
            tx.instruction_id, tx.end_to_end_id, tx.transaction_id) == (
        "REQ-1", "PAY-1", "pacs.008.001.08", "I-1", "E2E-1", "TX-1")
    assert tx.uetr == (None if version in ("01", "02") else UETR)  # OrgnlUETR from .03


def test_each_request_is_answered_in_the_pacs002_of_its_release() -> None:
    assert [reply_version(f"pacs.028.001.{n:02d}") for n in range(1, 8)] == [
        "pacs.002.001.08", "pacs.002.001.09", "pacs.002.001.10", "pacs.002.001.11",
        "pacs.002.001.12", "pacs.002.001.14", "pacs.002.001.16"]
    assert STATUS_REQUEST_REPLY_VERSIONS["pacs.028.001.03"] == "pacs.002.001.10"
    overrides = parse_reply_versions("pacs.028.001.03=pacs.002.001.12")
    assert reply_version("pacs.028.001.03", overrides) == "pacs.002.001.12"


# -- the answers --------------------------------------------------------------------------------

def mint(msg_id: str, **kw) -> bytes:
    return pacs008([Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, **kw)],
                   msg_id=msg_id).encode()


def story(store) -> None:
    """A settled mint, a rejected payment and an unknown one, asked about, asked again."""
    bus = pipeline(store)
    settled = Tx(amount="100.00", debtor_iban=FATIMA, creditor_iban=ALICE, uetr=UETR,
                 end_to_end_id="E2E-OK", tx_id="TX-OK")
    refused_tx = Tx(amount="5.00", debtor_iban=FATIMA, creditor_iban=GEORGE, uetr=None,
                    end_to_end_id="E2E-NO", tx_id="TX-NO")  # nothing tokenized: AC03
    assert bus.handle(pacs008([settled], msg_id="PAY-OK").encode()).verdict == "accepted"
    assert bus.handle(pacs008([refused_tx], msg_id="PAY-NO").encode()).verdict == "rejected"
    before = state(store)

    request = pacs028([StatusTx(uetr=UETR),  # by UETR alone
                       StatusTx(msg_id="PAY-OK", end_to_end_id="E2E-OK"),  # by MsgId + EndToEndId
                       StatusTx(msg_id="PAY-NO", tx_id="TX-NO"),  # the rejected one
                       StatusTx(msg_id="PAY-NONE", end_to_end_id="E2E-NONE")],  # never received
                      msg_id="STS-1").encode()
    outcome = bus.handle(request)
    assert outcome.verdict == "accepted" and outcome.reply.message_type == "pacs.002.001.10"
    said = answer(outcome.reply.body)
    assert said["original"] == ("PAY-OK", "pacs.008.001.08", "2026-11-24T10:00:00Z")
    assert said["group"] == (None, None)  # a report on some transactions: no GrpSts
    assert said["transactions"] == [
        ("E2E-OK", "TX-OK", UETR, "ACSC", None),
        ("E2E-OK", "TX-OK", UETR, "ACSC", None),
        ("E2E-NO", "TX-NO", None, "RJCT", "AC03"),
        ("E2E-NONE", None, None, "RJCT", "AG09")]
    assert state(store) == before  # a question changes nothing

    again = bus.handle(request)  # the same bytes: the first answer, nothing new
    assert again.seen_before and again.reply.message_id == outcome.reply.message_id
    resent = bus.handle(request.replace(b"STS-1", b"STS-2"))  # asked again: answered the same
    assert answer(resent.reply.body)["transactions"] == said["transactions"]
    assert state(store) == before


def test_each_state_is_answered_and_asking_changes_nothing(memory_registry) -> None:
    story(memory_registry)


@pytest.mark.slow
def test_each_state_is_answered_on_the_real_stores(registry) -> None:
    story(registry)


def test_an_unknown_original_names_what_was_asked(memory_registry) -> None:
    outcome = pipeline(memory_registry).handle(
        pacs028([StatusTx(msg_id="PAY-X", end_to_end_id="E2E-X")], version="06").encode())
    said = answer(outcome.reply.body)
    assert said["version"] == "pacs.002.001.14"
    assert said["original"][:2] == ("PAY-X", "pacs.008.001.08")
    assert said["transactions"] == [("E2E-X", None, None, "RJCT", "AG09")]


def test_a_uetr_alone_of_a_payment_never_received_is_unknown(memory_registry) -> None:
    outcome = pipeline(memory_registry).handle(pacs028([StatusTx(uetr=UETR)], msg_id="STS-U").encode())
    said = answer(outcome.reply.body)
    assert said["original"][:2] == ("STS-U", "pacs.028.001.03")  # nothing to point at: the request
    assert said["transactions"] == [(None, None, UETR, "RJCT", "AG09")]


def test_a_transaction_of_a_message_rejected_whole_is_rjct_with_its_reason(memory_registry) -> None:
    bus = pipeline(memory_registry, allowed_senders=frozenset({"BNPAFRPPXXX"}))
    assert bus.handle(pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE, end_to_end_id="E2E-F")],
                              msg_id="PAY-F", instructing_bic="DEUTDEFFXXX").encode()).verdict == "rejected"
    said = answer(bus.handle(pacs028([StatusTx(msg_id="PAY-F", end_to_end_id="E2E-F")]).encode()).reply.body)
    assert said["transactions"][0][3:] == ("RJCT", "AG01")


def test_the_original_is_told_apart_by_every_reference_given(memory_registry) -> None:
    bus = pipeline(memory_registry)
    bus.handle(mint("PAY-2", end_to_end_id="E2E-2", tx_id="TX-2"))
    said = answer(bus.handle(pacs028([StatusTx(msg_id="PAY-2", end_to_end_id="E2E-2", tx_id="TX-9")]).encode()).reply.body)
    assert said["transactions"][0][3:] == ("RJCT", "AG09")  # E2E-2 but another TxId: not that one


def test_a_sender_not_allowed_is_refused_and_a_header_is_answered_with_one(memory_registry) -> None:
    bus = pipeline(memory_registry, allowed_senders=frozenset({"BNPAFRPPXXX"}), issuer_bic="TOKNDEFFXXX")
    bus.handle(mint("PAY-3", end_to_end_id="E2E-3", uetr=None))
    document = pacs028([StatusTx(msg_id="PAY-3", end_to_end_id="E2E-3")], msg_id="STS-3")
    header = app_header(msg_def="pacs.028.001.03", biz_msg_id="BIZ-STS-3")
    said = answer(bus.handle(swift_envelope(document, header).encode()).reply.body)
    assert said["transactions"][0][3:] == ("ACSC", None)
    assert said["related"] == "BIZ-STS-3"
    assert said["header"].message_definition_id == "pacs.002.001.10"
    assert (said["header"].from_bic, said["header"].to_bic) == ("TOKNDEFFXXX", "BNPAFRPPXXX")

    stranger = app_header(msg_def="pacs.028.001.03", sender="DEUTDEFFXXX", biz_msg_id="BIZ-STS-4")
    refused = bus.handle(swift_envelope(document.replace("STS-3", "STS-4"), stranger).encode())
    said = answer(refused.reply.body)
    assert refused.verdict == "rejected"
    assert said["original"][:2] == ("STS-4", "pacs.028.001.03")
    assert said["group"] == ("RJCT", "AG01")
    assert said["transactions"][0][3:] == ("RJCT", "AG01")


SAMPLES = Path(__file__).resolve().parents[1] / "samples"
STORY = dict(issuer_bic="TOKNDEFFXXX", allowed_senders=frozenset({"BNPAFRPPXXX", "BARCGB22XXX", "BPKOPLPWXXX"}))


def test_the_sample_status_request_after_the_sample_payments(memory_registry) -> None:
    """samples/pacs028/01 after samples/pacs008, replayed as the samples' bank would."""
    bus = pipeline(memory_registry, **STORY)
    for path in sorted((SAMPLES / "pacs008").glob("*.xml")):
        bus.handle(path.read_bytes())
    (sample,) = sorted((SAMPLES / "pacs028").glob("*.xml"))
    outcome = bus.handle(sample.read_bytes())
    said = answer(outcome.reply.body)
    assert said["version"] == "pacs.002.001.10" and said["related"] == "BNPA20261124-1800-STS-001"
    assert said["original"] == ("BNPA20261124-0917-004417", "pacs.008.001.08", "2026-11-24T09:17:42+01:00")
    assert [t[3:] for t in said["transactions"]] == [("ACSC", None), ("RJCT", "AC03"), ("RJCT", "AG09")]
    assert said["transactions"][0][:2] == ("OUALI-LOYER-2026-11", "BNPA261124TX0044170")


@pytest.mark.slow
def test_replay_answers_the_sample_request(seeded_cli, tmp_path: Path) -> None:
    """`tokenbridge replay` (files, in-process, the SQL store): the same bus as the worker."""
    seeded_cli("replay", str(SAMPLES / "pacs008"))
    out = tmp_path / "replies"
    result = seeded_cli("replay", "--out", str(out), str(SAMPLES / "pacs028"))
    assert result.exit_code == 0, result.output
    (reply,) = out.glob("*.pacs.002.001.10.xml")
    assert [t[3:] for t in answer(reply.read_bytes())["transactions"]] == [
        ("ACSC", None), ("RJCT", "AC03"), ("RJCT", "AG09")]


def test_the_status_is_the_current_one_acsp_until_final(memory_registry) -> None:
    """A ledger whose operations settle later (EVM) holds one as ACSP until it is final: the
    answer follows the ledger, not what the payment was first answered with."""
    from dataclasses import replace

    bus = pipeline(memory_registry)
    bus.handle(mint("PAY-P", uetr=UETR, end_to_end_id="E2E-P"))
    key = f"uetr:{UETR}"

    def settled_as(status: str) -> None:  # each commit leaves new books: edit the current ones
        operations = memory_registry.books.operations
        operations[key] = replace(operations[key], status=status)

    settled_as("ACSP")  # as a pending on-chain mint reads
    pending = answer(bus.handle(pacs028([StatusTx(uetr=UETR)], msg_id="STS-P1").encode()).reply.body)
    assert pending["transactions"][0][3:] == ("ACSP", None)
    settled_as("ACSC")  # mined and final
    final = answer(bus.handle(pacs028([StatusTx(msg_id="PAY-P", end_to_end_id="E2E-P")],
                                      msg_id="STS-P2").encode()).reply.body)
    assert final["transactions"][0][3:] == ("ACSC", None)


@pytest.mark.slow
def test_the_worker_answers_a_status_request_on_the_out_exchange(registry, amqp_prefix) -> None:
    """The RabbitMQ worker (real broker, real store): the same bus, the reply routed by its type."""
    from broker import drain_answers
    from test_worker import RunningWorker, publish

    payments = [(SAMPLES / "pacs008" / name).read_bytes() for name in
                ("01-mint-fatima-to-alice-eur.xml", "09-reject-fatima-to-george-not-tokenized.xml")]
    (request,) = [p.read_bytes() for p in sorted((SAMPLES / "pacs028").glob("*.xml"))]
    bus = MessageBus(MessageReader(), registry, BridgeConfig(**STORY), is_transient=registry.is_transient)
    with RunningWorker(registry, amqp_prefix, pipeline=bus):
        publish(amqp_prefix, payments)
        assert len(drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 2)) == 2
        publish(amqp_prefix, [request])
        (properties, body), = drain_answers(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
    assert properties.type == "pacs.002.001.10"
    assert properties.correlation_id == "BNPA20261124-1800-STS-001"
    assert [t[3:] for t in answer(body)["transactions"]] == [("ACSC", None), ("RJCT", "AC03"), ("RJCT", "AG09")]


def test_status_requests_re_read_originals_with_the_bus_limit() -> None:
    """An original the bus accepted under a raised TOKENBRIDGE_MAX_MESSAGE_BYTES must read again
    when a status request asks about it: the handler's reader has the configured limit."""
    from bridge.config import BridgeConfig
    from bridge.status_requests.handler import StatusRequests
    handler = StatusRequests(BridgeConfig(max_message_bytes=64 * 1024 * 1024), lambda: None)
    assert handler.reader.max_bytes == 64 * 1024 * 1024
