"""Issue 18: the HTML reconciliation report read as people read it (parsed with lxml.html): the
ledger's late bookings drawn and explained, each statement's file and MsgId, human labels,
tables that fit the page, a print stylesheet."""
from __future__ import annotations

import json
from pathlib import Path

from datetime import datetime, timezone

import lxml.html
import pytest
from builders import Tx
from camt053_builders import Ntry, camt053

from adapters.reports.charts import in_flight_series

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EUR_STATEMENT = SAMPLES / "camt053" / "01-eur-omnibus-2026-11-24-v08.xml"


@pytest.fixture()
def replayed_today(seeded_cli):
    """The samples' 2026-11-24 payments replayed now: the ledger books them after the
    statements' period, as every replay of older files does."""
    assert seeded_cli("replay", str(SAMPLES / "pacs008")).exit_code == 1  # one sample is a reject
    return seeded_cli


def page_of(tokenbridge, tmp_path: Path, *statements: Path):
    page = tmp_path / "report.html"
    result = tokenbridge("reconcile", "--json", "--html", str(page), *map(str, statements))
    assert result.exit_code == 0, result.output
    return lxml.html.fromstring(page.read_text(encoding="utf-8")), json.loads(result.stdout)


def text(node) -> str:
    return " ".join(node.text_content().split())


def test_the_in_flight_amounts_are_drawn_and_explained(replayed_today, tmp_path: Path) -> None:
    page, report = page_of(replayed_today, tmp_path, EUR_STATEMENT)
    (statement,) = report["statements"]
    assert statement["ledger"]["closing"] == "0.00" and statement["ledger"]["in_flight"] == "10625.00"
    (chart,) = [svg for svg in page.iter("svg") if "token supply" in (svg.get("aria-label") or "")]
    lines = {text(path.find("title")): path.get("d") for path in chart.iter("path")}
    assert set(lines) == {"booked balance (statement)", "token supply (ledger)",
                          "token supply with in-flight amounts at their booking times"}
    # With the late bookings at their entries' booking times the ledger meets the booked
    # balance step for step: the same path.
    assert lines["token supply with in-flight amounts at their booking times"] == lines["booked balance (statement)"]
    assert lines["token supply (ledger)"] != lines["booked balance (statement)"]  # flat at zero
    (note,) = page.find_class("note")
    said = text(note)
    assert said.startswith("In flight: 10625.00 EUR.") and "booked 5 of this period's operation(s) after the period" in said
    assert in_flight_series(statement)[-1] == [statement["to"], "10625.00"]


def test_no_in_flight_line_nor_note_when_the_ledger_booked_in_the_period(seeded_cli, tmp_path: Path) -> None:
    today = datetime.now(timezone.utc).date().isoformat()  # reconciling mints now: in the period
    statement = tmp_path / "today.xml"
    statement.write_text(camt053([Ntry.of(Tx(amount="7.00", debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-T",
                                          booked_at=f"{today}T00:00:01Z")],
                                 start=f"{today}T00:00:00Z", end=f"{today}T23:59:59Z"))
    page, report = page_of(seeded_cli, tmp_path, statement)
    assert report["statements"][0]["ledger"]["in_flight"] == "0.00"
    assert not page.find_class("note")
    assert not [p for p in page.iter("path") if "in-flight" in text(p)]


def test_each_statement_names_its_source_file_and_msgid(replayed_today, tmp_path: Path) -> None:
    page, _ = page_of(replayed_today, tmp_path, SAMPLES / "camt053")
    headings = [h for h in page.iter("h2") if h.text.startswith("TOKN-OMN-")]
    assert len(headings) == 3
    for heading, (name, msg_id) in zip(headings, [
            ("01-eur-omnibus-2026-11-24-v08.xml", "TOKN-STMT-EUR-20261124"),
            ("02-jpy-omnibus-2026-11-24-v02.xml", "TOKN-STMT-JPY-20261124"),
            ("03-kwd-omnibus-2026-11-24-v14.xml", "TOKN-STMT-KWD-20261124")]):
        origin = text(heading.getnext())
        assert f"file {SAMPLES / 'camt053' / name}" in origin and f"camt.053 MsgId {msg_id}" in origin


def test_labels_are_for_people_not_json_keys(replayed_today, tmp_path: Path) -> None:
    page, report = page_of(replayed_today, tmp_path, EUR_STATEMENT)
    keys = set(report["statements"][0]["entries"][0]) | set(report["statements"][0]["operations"][0])
    headers = {text(th) for th in page.iter("th")}
    assert {"Credit / debit", "Booking status", "Booked at", "Matched on", "References", "EndToEndId" } - headers == {"EndToEndId"}
    assert not {h for h in headers if "_" in h} and not (headers & {k for k in keys if "_" in k})
    references = text(page.xpath("//details[1]//tbody/tr[1]/td")[7])
    assert references.startswith("UETR e9b0e81b") and "EndToEndId OUALI-LOYER-2026-11" in references


def test_tables_fit_the_page_and_it_prints(replayed_today, tmp_path: Path) -> None:
    page, _ = page_of(replayed_today, tmp_path, EUR_STATEMENT)
    style = "".join(page.find(".//style").text_content().split())
    assert "@mediaprint{" in style and "thead{display:table-header-group}" in style
    wide = [t for t in page.iter("table") if t.get("class") != "figures"]
    assert wide and all(t.getparent().get("class") == "wide" for t in wide)
    assert "overflow-wrap:anywhere" in style and "width:100%" in style
    entries = page.xpath("//details[1]//thead//th")
    assert len(entries) <= 11  # references stacked in one cell, not three columns
