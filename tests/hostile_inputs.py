"""A catalogue of hostile and broken inputs, shared by the tests and bench/reliability.py."""
from __future__ import annotations

from builders import Tx, app_header, pacs008, swift_envelope
from test_hostile_xml import (BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY, QUADRATIC, XXE_FILE,
                              XXE_NETWORK)

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"


def _valid(**kw) -> str:
    return pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE, **kw)])


def catalogue() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected handling): "refused" (no pacs.002 possible, dead-lettered),
    "rjct-poison" (pacs.002 RJCT and dead-lettered), "rjct" (pacs.002 RJCT, a business reject)."""
    valid = _valid()
    return {
        "billion laughs": (BILLION_LAUGHS, "refused"),
        "quadratic blow-up": (QUADRATIC, "refused"),
        "XXE file": (XXE_FILE, "refused"),
        "XXE network": (XXE_NETWORK, "refused"),
        "parameter entity": (PARAMETER_ENTITY, "refused"),
        "external DTD": (EXTERNAL_DTD, "refused"),
        "oversized 11 MiB": (b"<Document>" + b" " * (11 << 20) + b"</Document>", "refused"),
        "deep nesting": (b"<a>" * 100_000 + b"</a>" * 100_000, "refused"),
        "truncated": (valid.encode()[:-50], "refused"),
        "UTF-16": (valid.replace("<Document", '<?xml version="1.0" encoding="UTF-16"?><Document', 1)
                   .encode("utf-16"), "refused"),
        "invalid UTF-8": (valid.replace("Debtor", "Debtor \udcff", 1).encode("utf-8", "surrogateescape"),
                          "refused"),
        "UTF-8 BOM (accepted)": (b"\xef\xbb\xbf" + valid.encode(), "accepted"),
        "empty": (b"", "refused"),
        "not XML": (b"%PDF-1.7 not xml", "refused"),
        "XML, not ISO 20022": (b"<invoice><total>12</total></invoice>", "refused"),
        "unknown ISO version": (valid.replace("pacs.008.001.08", "pacs.008.001.42").encode(), "refused"),
        "unknown ISO message": (valid.replace("pacs.008.001.08", "pain.008.001.08").encode(), "refused"),
        "AppHdr names another message": (swift_envelope(valid, app_header(msg_def="camt.053.001.08")).encode(),
                                         "rjct-poison"),
        "schema-invalid": (valid.replace("<NbOfTxs>", "<Bogus/><NbOfTxs>").encode(), "rjct-poison"),
        "negative amount": (_valid(amount="-5.00").encode(), "rjct-poison"),
        "zero amount": (_valid(amount="0.00").encode(), "rjct"),
        "over-precise amount": (_valid(amount="1.001").encode(), "rjct"),
        "unknown currency": (_valid(currency="ZZZ").encode(), "rjct"),
        "duplicate TxId": (pacs008([Tx(tx_id="T1", debtor_iban=FATIMA, creditor_iban=ALICE),
                                    Tx(tx_id="T1", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode(),
                           "partial"),
        "NbOfTxs wrong": (pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE)], nb_of_txs=2).encode(), "rjct"),
    }
