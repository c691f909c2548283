"""admi.002 out (issue 15): input that cannot be read as an ISO 20022 message the bridge acts on
is answered with an admi.002.001.01 message reject naming the reason, besides being refused
(dead-lettered by the worker) as before. Every reject is valid against the official XSD."""
from __future__ import annotations

import csv
import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from bridge.bus import MessageBus
from bridge.iso.admi002 import MESSAGE_TYPE, MessageReject, write_message_reject
from bridge.iso.catalogue import default_schema_dir
from bridge.iso.reader import MessageReader
from builders import Tx, app_header, pacs008, swift_envelope
from hostile_inputs import catalogue

SCHEMA = etree.XMLSchema(etree.parse(str(default_schema_dir() / f"{MESSAGE_TYPE}.xsd")))
NS = {"a": f"urn:iso:std:iso:20022:tech:xsd:{MESSAGE_TYPE}"}
REFUSED = {name: data for name, (data, expected) in catalogue().items() if expected == "refused"}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def valid(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    SCHEMA.assertValid(root)
    return root


def field(root: etree._Element, name: str) -> str | None:
    found = root.find(f".//a:{name}", NS)
    return found.text if found is not None else None


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_kind_of_garbage_is_answered_with_a_valid_reject(memory_registry, name: str) -> None:
    data = REFUSED[name]
    outcome = MessageBus(MessageReader(), memory_registry, clock=lambda: NOW).handle(data)
    assert outcome.verdict == "refused" and outcome.reply.message_type == MESSAGE_TYPE
    root = valid(outcome.reply.body)
    read = MessageReader().read(data)
    assert field(root, "RjctgPtyRsn") == ("AG03" if read.findings[0].rule == "iso.unknown-message"
                                          else "FF01")
    assert field(root, "RjctnDtTm") == "2026-12-01T12:00:00Z"
    assert field(root, "RsnDesc") == read.findings[0].message[:350]
    assert f"input sha256 {outcome.digest}" in field(root, "AddtlData")
    assert f"rule {read.findings[0].rule}" in field(root, "AddtlData")


def test_the_writer_keeps_any_text_schema_valid() -> None:
    nasty = "bad\x00\x07 \ud800 bytes " + "x" * 500
    root = valid(write_message_reject(MessageReject(
        related_reference="R" * 36, reason="  ", rejected_at=NOW, description=nasty,
        location="  ", additional_data="y" * 30000)))
    assert field(root, "Ref") == "NOTAVAILABLE"  # an id too long is not cut: it would name another
    assert field(root, "RjctgPtyRsn") == "NOTAVAILABLE"
    assert len(field(root, "RsnDesc")) == 350 and field(root, "RsnDesc").startswith("bad?? ? bytes")
    assert field(root, "ErrLctn") is None and len(field(root, "AddtlData")) == 20000
    minimal = valid(write_message_reject(MessageReject(None, "FF01", NOW)))
    assert [e.tag.split("}")[1] for e in minimal.iter()] == [
        "Document", MESSAGE_TYPE, "RltdRef", "Ref", "Rsn", "RjctgPtyRsn", "RjctnDtTm"]


def test_the_reject_quotes_the_bizmsgidr_else_the_msgid(memory_registry) -> None:
    run = MessageBus(MessageReader(), memory_registry)
    unknown = pacs008([Tx()], msg_id="PACS8-V42").replace("pacs.008.001.08", "pacs.008.001.42")
    outcome = run.handle(unknown.encode())
    assert (outcome.reply.correlation_id, field(valid(outcome.reply.body), "Ref")) == ("PACS8-V42",) * 2
    assert field(valid(outcome.reply.body), "RjctgPtyRsn") == "AG03"
    wrapped = swift_envelope(unknown.split("?>", 1)[-1], app_header(biz_msg_id="BIZ-42"))
    outcome = run.handle(wrapped.encode())
    assert outcome.verdict == "refused", outcome.summary
    # An input with an AppHdr is answered with one related to it (in the Envelope, as a pacs.002)
    reply = MessageReader().read(outcome.reply.body)
    assert reply.valid and reply.message_type == MESSAGE_TYPE and reply.header_valid, reply.findings
    assert reply.header.message_definition_id == MESSAGE_TYPE and reply.header.to_bic == "BNPAFRPPXXX"
    assert b"<Rltd><Fr>" in outcome.reply.body and b"<BizMsgIdr>BIZ-42</BizMsgIdr>" in outcome.reply.body
    assert outcome.reply.correlation_id == "BIZ-42" and b"<Ref>BIZ-42</Ref>" in outcome.reply.body


def test_a_reject_is_never_answered_with_a_reject(memory_registry, corpus_root: Path) -> None:
    """An admi.002 that reaches us (ours echoed back, or a peer's) is refused, with no answer:
    two systems must not answer each other's rejects for ever."""
    run = MessageBus(MessageReader(), memory_registry)
    ours = run.handle(b"not xml at all").reply.body
    theirs = (corpus_root / "corpus" / MESSAGE_TYPE
              / "moov-fednow20022__MessageReject_Scenario1_Step2a_admi.002_invalidXML.xml").read_bytes()
    for body in (ours, theirs, ours.replace(b"<RjctgPtyRsn>", b"<Bogus/><RjctgPtyRsn>")):
        outcome = run.handle(body)
        assert outcome.verdict == "refused" and outcome.message_type == MESSAGE_TYPE
        assert outcome.reply is None


def test_no_reject_where_a_pacs002_answers(memory_registry) -> None:
    """A schema-invalid pacs.008 with a MsgId is answered RJCT FF01 in a pacs.002, as before."""
    broken = pacs008([Tx()], msg_id="BROKEN-1").replace("<NbOfTxs>", "<Bogus/><NbOfTxs>").encode()
    outcome = MessageBus(MessageReader(), memory_registry).handle(broken)
    assert outcome.verdict == "rejected" and outcome.reply.message_type.startswith("pacs.002")


def test_replay_records_the_reject_once_and_dry_run_changes_nothing(registry) -> None:
    """The fake and the SQL store: recorded in the inbox (reply_id) and queued in the outbox;
    a redelivery is answered with the same reject; a dry run writes nothing."""
    digest = hashlib.sha256(b"not xml at all").hexdigest()
    run = MessageBus(MessageReader(), registry, is_transient=registry.is_transient)
    dry = run.handle(b"not xml at all", dry_run=True)
    assert dry.reply.message_type == MESSAGE_TYPE
    with registry() as uow:
        assert uow.inbox.find(digest) is None and uow.outbox.get(dry.reply.message_id) is None
    first = run.handle(b"not xml at all")
    again = run.handle(b"not xml at all")
    assert again.seen_before and again.reply == first.reply and first.reply.correlation_id == digest[:32]
    with registry() as uow:
        assert uow.inbox.find(digest).reply_id == first.reply.message_id
        assert uow.outbox.get(first.reply.message_id) == first.reply


def test_replay_on_the_fake_store_too(memory_registry) -> None:
    run = MessageBus(MessageReader(), memory_registry)
    first, again = run.handle(b"<invoice/>"), run.handle(b"<invoice/>")
    assert again.seen_before and again.reply.message_id == first.reply.message_id
    with memory_registry() as uow:
        assert uow.outbox.get(first.reply.message_id) == first.reply


def test_a_statement_refused_for_its_sender_gets_no_reject(memory_registry) -> None:
    """Decided (README): a camt.053 read and understood but refused (its sender not allowed,
    its account not registered) is a business refusal, not a message reject: no admi.002."""
    from camt053_builders import Ntry, camt053
    from reconcile_support import ManualClock, clocked, pipeline
    from test_reconcile_omnibus import mint_tx
    clock = ManualClock()
    run = pipeline(clocked(memory_registry, clock), clock, issuer_bic="TOKNDEFFXXX",
                   allowed_senders=frozenset({"BNPAFRPPXXX"}))
    refused = run.handle(camt053([Ntry.of(mint_tx(), "PAY-10")], servicer_bic="BARCGB22XXX").encode())
    assert refused.verdict == "refused" and "not allowed" in refused.summary
    assert refused.reply is None and refused.refusal is None


def test_corpus_admi002_samples_verdicts_agree_with_validation_tsv(corpus_root: Path, reader) -> None:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        rows = {row["local_path"]: row for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document"}
    samples = sorted((corpus_root / "corpus" / MESSAGE_TYPE).glob("*.xml"))
    assert len(samples) == 7
    for path in samples:
        row = rows[path.relative_to(corpus_root).as_posix()]
        result = reader.read(path.read_bytes())
        assert bool(result.document_valid) == (row["valid"] == "yes"), (path.name, result.findings[:2])


def test_replay_out_writes_the_reject_file(tmp_path: Path, monkeypatch) -> None:
    from adapters.cli import cli
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "init"], catch_exceptions=False).exit_code == 0
    inbox, out = tmp_path / "in", tmp_path / "replies"
    inbox.mkdir()
    (inbox / "garbage.xml").write_bytes(b"not xml at all")
    dry = runner.invoke(cli, ["replay", "--dry-run", "--out", str(out), str(inbox)], catch_exceptions=False)
    assert dry.exit_code == 1 and not list(out.glob("*.xml"))
    result = runner.invoke(cli, ["replay", "--out", str(out), str(inbox)], catch_exceptions=False)
    assert result.exit_code == 1
    (written,) = out.glob("*.xml")
    assert written.name == f"garbage.{MESSAGE_TYPE}.xml"
    assert field(valid(written.read_bytes()), "RjctgPtyRsn") == "FF01"
