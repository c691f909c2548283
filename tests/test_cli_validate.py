"""`tokenbridge validate [--json] PATH...` as INTERFACE.md fixes it: shapes and exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from builders import Tx, app_header, pacs008, swift_envelope


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    (tmp_path / "b-valid.xml").write_text(swift_envelope(pacs008(), app_header()))
    (tmp_path / "a-valid.xml").write_text(pacs008())
    (tmp_path / "ignored.txt").write_text("not a message")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def test_all_valid_exits_0_and_directories_expand_in_name_order(files: Path) -> None:
    result = run("--json", str(files))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [Path(line["path"]).name for line in lines] == ["a-valid.xml", "b-valid.xml"]
    assert set(lines[0]) >= {"path", "valid", "message_type", "envelope", "errors"}
    assert lines[1] | {"errors": []} == lines[1]
    assert (lines[1]["message_type"], lines[1]["envelope"], lines[1]["valid"]) == (
        "pacs.008.001.08", "Envelope (urn:swift:xsd:envelope)", True)


def test_any_invalid_exits_1_with_errors_in_the_documented_shape(files: Path) -> None:
    (files / "c-bad.xml").write_text(pacs008([Tx(amount="1.001")]).replace("<NbOfTxs>", "<X/><NbOfTxs>"))
    (files / "d-rule.xml").write_text(pacs008([Tx(amount="1.001")]))
    result = run("--json", str(files))
    assert result.exit_code == 1
    lines = {Path(j["path"]).name: j for j in map(json.loads, result.output.splitlines())}
    bad = lines["c-bad.xml"]
    assert bad["valid"] is False and bad["document_valid"] is False
    assert set(bad["errors"][0]) >= {"line", "column", "path", "message", "rule"}
    rule = lines["d-rule.xml"]
    assert (rule["valid"], rule["document_valid"]) == (False, True)
    assert rule["errors"][0]["rule"] == "amount.precision"


def test_json_messages_carry_the_schema_pattern_whole(tmp_path: Path) -> None:
    """Issue 13: the pattern's quantifiers were cut (`[0-9]{1,15}` printed as `[0-9]`)."""
    (tmp_path / "n.xml").write_text(pacs008().replace("<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>one</NbOfTxs>"))
    result = run("--json", str(tmp_path / "n.xml"))
    assert result.exit_code == 1
    [error] = json.loads(result.output)["errors"]
    assert error["message"] == ("Element 'NbOfTxs': [facet 'pattern'] The value 'one' is not "
                                "accepted by the pattern '[0-9]{1,15}'.")
    human = run(str(tmp_path / "n.xml"))
    assert "'[0-9]{1,15}'" in human.output


def test_not_xml_is_invalid_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "x.xml").write_bytes(b"\x00\x01garbage")
    result = run("--json", str(tmp_path / "x.xml"))
    assert result.exit_code == 1
    line = json.loads(result.output)
    assert line["message_type"] is None and line["errors"][0]["rule"].startswith("xml.")


def test_human_output_names_each_file(files: Path) -> None:
    result = run(str(files / "a-valid.xml"))
    assert result.exit_code == 0 and "valid" in result.output and "a-valid.xml" in result.output


@pytest.mark.parametrize("args", [[], ["/no/such/file.xml"], ["--bogus", "x"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


def test_the_console_script_keeps_the_exit_codes(files: Path) -> None:
    command = [sys.executable, "-c", "from adapters.cli import main; main()", "validate"]
    assert subprocess.run([*command, str(files)], capture_output=True).returncode == 0
    assert subprocess.run([*command, "/no/such"], capture_output=True).returncode == 2
    (files / "z.xml").write_text("<a/>")
    assert subprocess.run([*command, str(files)], capture_output=True).returncode == 1


def test_oversized_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.write(b"<Document>")
        handle.seek(60 * 1024 * 1024)
        handle.write(b"</Document>")
    result = run("--json", str(big))
    assert result.exit_code == 1
    assert json.loads(result.output)["errors"][0]["rule"] == "xml.too-large"


# -- issue 18: where a business rule breaks, and statements that do not add up ------------------

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_a_business_rule_finding_is_on_its_elements_line_with_its_path() -> None:
    amount = SAMPLES / "invalid" / "03-eur-amount-three-decimals.xml"
    found = json.loads(run("--json", str(amount)).output)["errors"]
    assert [(e["rule"], e["line"]) for e in found] == [
        ("amount.precision", line_of(amount, '<IntrBkSttlmAmt Ccy="EUR">100.005<'))]  # line 25, not 3
    iban = SAMPLES / "invalid" / "04-bad-iban-check-digits.xml"
    assert [e["line"] for e in json.loads(run("--json", str(iban)).output)["errors"]] == [
        line_of(iban, "<CdtrAcct>")]
    human = run(str(amount)).output
    line = line_of(amount, '<IntrBkSttlmAmt Ccy="EUR">100.005<')
    assert (f"line {line} /Document/FIToFICstmrCdtTrf/CdtTrfTxInf[1]/IntrBkSttlmAmt: "
            "amount 100.005 EUR has more than 2 decimals") in human


def test_the_second_transactions_finding_names_the_second_transactions_line() -> None:
    from bridge.iso.reader import MessageReader
    body = pacs008([Tx(), Tx(amount="1.001")]).replace("><", ">\n<")
    (finding,) = MessageReader().read(body.encode()).findings
    lines = body.splitlines()
    amounts = [n for n, line in enumerate(lines, start=1) if line.startswith("<IntrBkSttlmAmt")]
    assert finding.path.endswith("CdtTrfTxInf[2]/IntrBkSttlmAmt") and finding.line == amounts[1]


def test_xsd_findings_show_their_element_path_on_the_terminal() -> None:
    human = run(str(SAMPLES / "invalid" / "01-schema-missing-chrgbr.xml")).output
    assert "line 27:0 /Document/FIToFICstmrCdtTrf/CdtTrfTxInf/InstgAgt: Element 'InstgAgt'" in human


def test_a_camt053_that_does_not_add_up_fails_validate_and_reconciles_to_a_break(tmp_path: Path) -> None:
    sample = SAMPLES / "camt053" / "01-eur-omnibus-2026-11-24-v08.xml"
    assert run(str(sample)).exit_code == 0
    text = sample.read_text()
    closing = tmp_path / "closing.xml"  # CLBD 10625.00 -> 10626.00: opening + entries != closing
    closing.write_text(text.replace('<Amt Ccy="EUR">10625.00</Amt>', '<Amt Ccy="EUR">10626.00</Amt>', 1))
    result = run("--json", str(closing))
    assert result.exit_code == 1
    (error,) = json.loads(result.output)["errors"]
    assert error["rule"] == "stmt.balances" and error["reason"] == "AM10"
    assert error["path"] == "/Document/BkToCstmrStmt/Stmt[1]/Bal[2]/Amt"
    assert error["line"] == line_of(closing, "10626.00")
    assert "closing booked is 10626.00 EUR" in error["message"]
    summary = tmp_path / "summary.xml"  # TxsSummry: 4 credits said 3, their sum 1.00 more
    summary.write_text(text.replace("<NbOfNtries>4</NbOfNtries>", "<NbOfNtries>3</NbOfNtries>")
                       .replace("<Sum>11625.00</Sum>", "<Sum>11626.00</Sum>"))
    found = json.loads(run("--json", str(summary)).output)["errors"]
    assert [(e["rule"], e["path"].rsplit("TxsSummry/", 1)[1], e["line"]) for e in found] == [
        ("stmt.summary-count", "TtlCdtNtries/NbOfNtries", line_of(summary, "<NbOfNtries>3<")),
        ("stmt.summary-sum", "TtlCdtNtries/Sum", line_of(summary, "<Sum>11626.00<"))]
    assert "TxsSummry/TtlCdtNtries/NbOfNtries says 3, the statement holds 4" in run(str(summary)).output


def test_reconcile_refuses_a_summary_that_does_not_add_up_as_it_refuses_balances(seeded_cli, tmp_path: Path) -> None:
    text = (SAMPLES / "camt053" / "01-eur-omnibus-2026-11-24-v08.xml").read_text()
    summary = tmp_path / "summary.xml"
    summary.write_text(text.replace("<NbOfNtries>4</NbOfNtries>", "<NbOfNtries>3</NbOfNtries>"))
    result = seeded_cli("reconcile", "--json", str(summary))
    assert result.exit_code == 1
    (found,) = json.loads(result.stdout)["breaks"]
    assert found["category"] == "statement_inconsistent" and "NbOfNtries says 3" in found["reason"]
    with_balances = seeded_cli("balances", "--json")
    assert json.loads(with_balances.stdout)["supply"] == {}  # refused whole: nothing minted
