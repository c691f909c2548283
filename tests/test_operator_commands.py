"""Issue 18, the operator's rough edges seen by a new user: what the commands say and how they
exit. Broker commands against the real RabbitMQ (names under a unique prefix)."""
from __future__ import annotations

import threading
from pathlib import Path

import pika
import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.rabbitmq.replies import topic_matches
from broker import AMQP_URL, queue_depth
from builders import Tx, pacs008

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"


@pytest.fixture()
def broker_cli(seeded_cli, amqp_prefix, monkeypatch):
    """`tokenbridge ...` on a seeded SQLite store and the real broker under a unique prefix."""
    monkeypatch.setenv("TOKENBRIDGE_AMQP_PREFIX", amqp_prefix)
    return seeded_cli


# -- replay ------------------------------------------------------------------------------------

def test_replay_says_why_a_message_was_rejected_whole(seeded_cli) -> None:
    result = seeded_cli("replay", str(SAMPLES / "invalid" / "01-schema-missing-chrgbr.xml"))
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "RJCT: 0 of 0 accepted; rejects FF01: line 27:0: Element 'InstgAgt': This element is not expected" in said
    again = " ".join(seeded_cli("replay", str(SAMPLES / "invalid" / "01-schema-missing-chrgbr.xml")).output.split())
    assert "Element 'InstgAgt'" in again  # seen before: the same reason


def test_replay_dry_run_says_would(seeded_cli) -> None:
    result = seeded_cli("replay", "--dry-run", str(SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml"),
                        str(SAMPLES / "pacs008" / "09-reject-fatima-to-george-not-tokenized.xml"))
    said = " ".join(result.output.split())
    assert "would accept 01-mint-fatima-to-alice-eur.xml" in said
    assert "would reject 09-reject-fatima-to-george-not-tokenized.xml" in said
    assert "messages that would accept │ 1" in said and "accepted 01-mint" not in said
    assert " ".join(seeded_cli("replay", str(SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml"))
                    .output.split()).count("accepted 01-mint") == 1


def test_reconcile_help_says_it_mints_by_default_and_how_not_to(seeded_cli) -> None:
    said = " ".join(seeded_cli("reconcile", "--help").output.split())
    assert "It applies by default" in said and "MINTED" in said and "To only look, use --dry-run" in said


# -- dead letters ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_redriving_an_id_that_names_no_dead_letter_exits_1(broker_cli, amqp_prefix) -> None:
    assert broker_cli("topology").exit_code == 0
    result = broker_cli("dead", "redrive", "nosuchid")
    assert result.exit_code == 1 and "no dead letter nosuchid" in result.output
    assert broker_cli("dead", "redrive", "--all").exit_code == 0  # nothing to do is no error


# -- publish and replies -----------------------------------------------------------------------------

@pytest.mark.slow
def test_publish_shows_progress_on_long_runs(broker_cli, amqp_prefix, tmp_path: Path, monkeypatch) -> None:
    for n in range(25):
        (tmp_path / f"m{n:02d}.xml").write_text(pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE)]))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws progress on a terminal only
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    result = broker_cli("publish", str(tmp_path))
    assert result.exit_code == 0
    assert "publishing" in result.stderr and "25/25" in result.stderr
    assert result.stdout.strip() == f"published 25 message(s) to {amqp_prefix}.in (confirmed)"
    assert queue_depth(f"{amqp_prefix}.in") == 25
    short = broker_cli("publish", str(tmp_path / "m00.xml"))
    assert "publishing" not in short.stderr


def _publish_out(prefix: str, messages: list[tuple[str, str, bytes]]) -> None:
    """As the worker publishes replies: to <prefix>.out, routing key = message type."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for key, message_id, body in messages:
        channel.basic_publish(f"{prefix}.out", key, body, pika.BasicProperties(
            message_id=message_id, correlation_id=f"corr-{message_id}", content_type="application/xml"))
    connection.close()


@pytest.mark.slow
def test_replies_browses_a_named_queue_leaving_its_messages(broker_cli, amqp_prefix, tmp_path: Path) -> None:
    assert broker_cli("topology").exit_code == 0
    _publish_out(amqp_prefix, [("pacs.002.001.10", "R1", b"<a/>"), ("admi.002.001.01", "R2", b"<b/>"),
                               ("pacs.002.001.16", "R3", b"<c/>")])
    out = f"{amqp_prefix}.out"
    assert queue_depth(out) == 3
    result = broker_cli("replies", "--queue", out, "--type", "pacs.002.#", "--out", str(tmp_path / "got"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [["pacs.002.001.10", "R1", "correlation=corr-R1"],
                                                   ["pacs.002.001.16", "R3", "correlation=corr-R3"]]
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == [
        "0001-pacs.002.001.10-R1.xml", "0002-pacs.002.001.16-R3.xml"]
    assert (tmp_path / "got" / "0002-pacs.002.001.16-R3.xml").read_bytes() == b"<c/>"
    assert queue_depth(out) == 3  # browsed, left there
    taken = broker_cli("replies", "--queue", out, "--take", "--count", "1")
    assert taken.exit_code == 0 and taken.stdout.split()[1] == "R1" and queue_depth(out) == 2
    short = broker_cli("replies", "--queue", out, "--type", "report.*", "--count", "1")
    assert short.exit_code == 1  # asked for one, none came
    assert broker_cli("replies", "--take").exit_code == 2


@pytest.mark.slow
def test_replies_follows_what_is_published_from_now_on(broker_cli, amqp_prefix) -> None:
    assert broker_cli("topology").exit_code == 0
    result = {}
    reader = threading.Thread(target=lambda: result.setdefault(
        "r", broker_cli("replies", "--type", "pacs.002.#", "--count", "2", "--wait", "20")))
    reader.start()
    n = 0
    while reader.is_alive():  # until the temporary queue is bound and has had its two
        n += 1
        _publish_out(amqp_prefix, [("admi.002.001.01", f"A{n}", b"<x/>"), ("pacs.002.001.10", f"P{n}", b"<y/>")])
        reader.join(timeout=0.2)
    got = result["r"]
    assert got.exit_code == 0
    assert [line.split()[0] for line in got.stdout.splitlines()] == ["pacs.002.001.10"] * 2
    assert "following" in got.stderr


def test_topic_patterns_match_as_the_broker_routes() -> None:
    assert topic_matches("pacs.002.#", "pacs.002.001.10") and topic_matches("#", "report.reconciliation")
    assert topic_matches("report.*", "report.sweep") and not topic_matches("report.*", "report.a.b")
    assert not topic_matches("pacs.002.#", "pacs.004.001.09") and topic_matches("#.001.01", "admi.002.001.01")
