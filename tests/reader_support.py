"""What the reader tests share: a hardened parser, the corpus's XSD-valid Documents, finding a
Document inside any envelope, and an XPath text helper."""
from __future__ import annotations

import csv
from pathlib import Path

from lxml import etree

from conftest import CORPUS_ROOT as CORPUS

ISO_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


def parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def corpus_paths(namespace_part: str) -> list[str]:
    """Files whose Document is XSD-valid according to VALIDATION.tsv."""
    table = CORPUS / "VALIDATION.tsv"
    if not (CORPUS / "corpus").is_dir() or not table.is_file():
        return []
    with table.open(newline="", encoding="utf-8") as rows:
        return sorted({
            row["local_path"] for row in csv.DictReader(rows, delimiter="\t")
            if row["part"] == "Document" and row["valid"] == "yes" and namespace_part in row["namespace"]
        })


def find_document(path: Path) -> etree._Element:
    root = etree.parse(str(path), parser()).getroot()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        if qname.localname == "Document" and (qname.namespace or "").startswith(ISO_PREFIX):
            return element
    raise AssertionError(f"no ISO Document in {path}")


def text(element: etree._Element, xpath: str, ns: dict[str, str]) -> str | None:
    return element.xpath(f"string({xpath})", namespaces=ns).strip() or None
