"""`tokenbridge reconcile`: exit codes a scheduler can act on (0 clean, 1 breaks, 2 bad input),
the JSON, terminal and HTML forms, dry runs, and re-runs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from builders import Tx
from camt053_builders import Ntry, camt053
from reconcile_support import ALICE, FATIMA, GEORGE

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture()
def tokenbridge(seeded_cli):
    return seeded_cli


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def supply(tokenbridge) -> dict:
    return json.loads(tokenbridge("balances", "--json").stdout)["supply"]


def test_the_samples_reconcile_clean_after_the_replay_exit_0(tokenbridge, tmp_path: Path) -> None:
    tokenbridge("replay", str(SAMPLES / "pacs008"))
    result = tokenbridge("reconcile", "--json", "--html", str(tmp_path / "report.html"), str(SAMPLES / "camt053"))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["clean"] is True and found["breaks"] == []
    assert found["summary"]["statements"] == 3 and found["summary"]["entries"] == {"matched": 7}
    assert (tmp_path / "report.html").read_text().count("<svg") >= 4  # category chart + one per statement
    table = tokenbridge("reconcile", str(SAMPLES / "camt053"))  # seen before: reconciled anew, read-only
    assert table.exit_code == 0 and "clean" in table.stdout and "already reconciled" in table.stdout


def test_breaks_exit_1_with_every_break_naming_its_references(tokenbridge, tmp_path: Path) -> None:
    statement = write(tmp_path, "s.xml", camt053([
        Ntry.of(Tx(amount="30.00", debtor_iban=FATIMA, creditor_iban=GEORGE), "PAY-1"),  # unapplied
        Ntry(amount="5.00", credit=False, end_to_end_id="OUT-1", debtor_iban=ALICE, creditor_iban=GEORGE)],
        opening="5.00"))
    result = tokenbridge("reconcile", "--json", statement)
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert sorted(b["category"] for b in found["breaks"]) == ["backing_mismatch", "missing_on_ledger",
                                                             "unapplied_credit"]
    for broken in found["breaks"]:
        assert {"uetr", "end_to_end_id", "account_servicer_ref"} <= set(broken)
    table = tokenbridge("reconcile", statement)
    assert table.exit_code == 1 and "unapplied_credit" in table.stdout and "3 break(s)" in table.stdout


def test_a_statement_that_does_not_add_up_exits_1_and_applies_nothing(tokenbridge, tmp_path: Path) -> None:
    statement = write(tmp_path, "s.xml", camt053([Ntry.of(Tx(debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-2")],
                                                 closing="1.00"))
    result = tokenbridge("reconcile", "--json", statement)
    assert result.exit_code == 1
    assert [b["category"] for b in json.loads(result.stdout)["breaks"]] == ["statement_inconsistent"]
    assert supply(tokenbridge) == {}


def test_bad_input_exits_2_before_anything_is_applied(tokenbridge, tmp_path: Path) -> None:
    mintable = write(tmp_path, "a.xml", camt053([Ntry.of(Tx(debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-3")]))
    unknown = write(tmp_path, "b.xml", camt053([], account=GEORGE))
    for args in ((mintable, unknown), (mintable, str(SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml")),
                 (mintable, str(tmp_path / "missing.xml")), (str(SAMPLES / "invalid" / "not-iso.xml"),),
                 (mintable, write(tmp_path, "c.xml", camt053([]).replace("<CdtDbtInd>", "<Bogus/><CdtDbtInd>", 1)))):
        result = tokenbridge("reconcile", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "bad input" in result.output
    assert supply(tokenbridge) == {}


def test_it_applies_by_default_and_a_dry_run_applies_nothing(tokenbridge, tmp_path: Path) -> None:
    statement = write(tmp_path, "s.xml", camt053([Ntry.of(Tx(amount="12.00", debtor_iban=FATIMA,
                                                            creditor_iban=ALICE), "PAY-4")]))
    dry = tokenbridge("reconcile", "--dry-run", "--json", statement)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["summary"]["entries"] == {"would_mint": 1}
    assert supply(tokenbridge) == {}
    applied = tokenbridge("reconcile", "--json", statement)
    assert applied.exit_code == 0 and json.loads(applied.stdout)["summary"]["entries"] == {"minted": 1}
    again = tokenbridge("reconcile", "--json", statement)
    assert again.exit_code == 0 and json.loads(again.stdout)["summary"]["entries"] == {"matched": 1}
    assert supply(tokenbridge) == {"EUR": "12.00"}


def test_the_html_page_is_self_contained(tokenbridge, tmp_path: Path) -> None:
    statement = write(tmp_path, "s.xml", camt053([
        Ntry.of(Tx(amount="30.00", debtor_iban=FATIMA, creditor_iban=GEORGE), "PAY-5"),
        Ntry.of(Tx(amount="7.00", debtor_iban=FATIMA, creditor_iban=ALICE), "PAY-6")]))
    page = tmp_path / "r.html"
    assert tokenbridge("reconcile", "--html", str(page), statement).exit_code == 1
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "unapplied credit" in html and "minted" in html
    assert html.count("<svg") == 2 and "<script" not in html and "<link" not in html
    # Nothing to fetch: the only URL is the SVG namespace name, which is never loaded.
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"(src|href)\s*=", html) and "url(" not in html
