"""pain.001 and pain.002 of the public corpus: our XSD verdict on each is libxml2's in
VALIDATION.tsv, and every valid pain.001 is read into payment information blocks and
transactions (one of them per CdtTrfTxInf, amounts exact, the channel named)."""
from __future__ import annotations

import csv
from pathlib import Path

from lxml import etree

from reader_support import find_document


def pain_rows(corpus_root: Path) -> dict[str, str]:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        return {row["local_path"]: row["valid"] for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document" and row["local_path"].startswith(("corpus/pain.001",
                                                                                "corpus/pain.002"))}


def test_every_pain_sample_gets_the_verdict_validation_tsv_gives(corpus_root: Path, reader) -> None:
    rows = pain_rows(corpus_root)
    assert len(rows) == 21  # 16 pain.001, 5 pain.002
    for local, valid in rows.items():
        result = reader.read((corpus_root / local).read_bytes())
        assert result.document_valid is (valid == "yes"), (local, result.findings[:2])
        assert not any(f.rule == "iso.unknown-message" for f in result.findings), local


def test_every_valid_pain001_is_read_transaction_by_transaction(corpus_root: Path, reader) -> None:
    read = 0
    for local, valid in pain_rows(corpus_root).items():
        if valid != "yes" or "pain.001" not in local:
            continue
        path = corpus_root / local
        result = reader.read(path.read_bytes())
        assert result.payload is not None, (local, result.findings[:2])
        document = find_document(path)
        expected = len(document.findall(".//{*}CdtTrfTxInf"))
        assert len(result.payload.transactions) == expected, local
        assert len(result.payload.payment_informations) == len(document.findall(".//{*}PmtInf"))
        for tx in result.payload.transactions:
            assert tx.amount.value > 0 and tx.end_to_end_id
        read += 1
    assert read == 15


def test_an_equivalent_amount_is_read_and_refused_as_a_conversion(corpus_root: Path, reader) -> None:
    path = corpus_root / "corpus/pain.001.001.09/phoughton-cbprur__pain001_credit_initiation_sample.xml"
    result = reader.read(path.read_bytes())
    assert [f.rule for f in result.findings if f.transaction == 0] == ["tx.conversion"]
    assert result.findings[0].reason == "AM03"


def test_the_initiating_party_names_the_channel(corpus_root: Path, reader) -> None:
    path = corpus_root / "corpus/pain.001.001.08/phoughton-pyiso20022__pain001_001_08.xml"
    result = reader.read(path.read_bytes())
    document = find_document(path)
    ns = {"p": etree.QName(document).namespace}
    assert result.sender == document.findtext(".//p:InitgPty/p:Id/p:OrgId/p:Othr/p:Id", namespaces=ns)
