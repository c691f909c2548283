"""The public corpus (168 messages written by others): our XSD verdict on each Document equals
libxml2's recorded in VALIDATION.tsv; files without an ISO Document get a clear error."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytestmark = pytest.mark.corpus


def document_rows(corpus_root: Path) -> dict[str, dict[str, str]]:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        return {row["local_path"]: row for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document"}


def test_every_document_verdict_matches_the_official_xsd(corpus_root: Path, reader) -> None:
    rows = document_rows(corpus_root)
    files = sorted((corpus_root / "corpus").rglob("*.xml"))
    assert len(files) == len(rows) == 168
    disagreements = []
    for path in files:
        row = rows[path.relative_to(corpus_root).as_posix()]
        result = reader.read(path.read_bytes())
        if bool(result.document_valid) != (row["valid"] == "yes"):
            disagreements.append((path.name, row["valid"], [str(f) for f in result.findings[:2]]))
    assert disagreements == []


def test_files_without_an_iso_document_get_a_clear_error(corpus_root: Path, reader) -> None:
    rows = document_rows(corpus_root)
    missing = [p for p, r in rows.items() if "no <Document>" in r["first_error"]
               or "no ISO 20022 Document" in r["first_error"]]
    assert len(missing) >= 5
    for local in missing:
        result = reader.read((corpus_root / local).read_bytes())
        assert [f.rule for f in result.findings] == ["iso.no-document"], local
        assert "no ISO 20022 Document element found" in result.findings[0].message
        assert result.envelope == rows[local]["envelope"]


def test_envelopes_are_named_as_the_corpus_names_them(corpus_root: Path, reader) -> None:
    for local, row in document_rows(corpus_root).items():
        if row["notes"].startswith("message root re-wrapped"):
            continue
        assert reader.read((corpus_root / local).read_bytes()).envelope == row["envelope"], local


def test_first_xsd_error_line_matches_libxml2(corpus_root: Path, reader) -> None:
    for local, row in document_rows(corpus_root).items():
        if row["valid"] != "no" or not row["first_error"].startswith("line "):
            continue
        expected_line = int(row["first_error"].split(":")[0].removeprefix("line "))
        findings = [f for f in reader.read((corpus_root / local).read_bytes()).findings
                    if f.part == "Document"]
        assert findings[0].line == expected_line, local
