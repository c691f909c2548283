"""The hand-written sample messages in samples/ are what they claim to be.

Plain lxml only (no bridge code): every pacs.008 / camt.053 sample is valid against its official
XSD, group totals and statement balances add up, every IBAN is valid, every account is known, and
each file in samples/invalid/ is broken for exactly the reason its first-line comment gives.
"""
from __future__ import annotations

import csv
import functools
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from iso4217 import Currency
from lxml import etree
from schwifty import IBAN

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SCHEMAS = ROOT / "schemas"
ISO = "urn:iso:std:iso:20022:tech:xsd:"

PACS008 = sorted((SAMPLES / "pacs008").glob("*.xml"))
CAMT053 = sorted((SAMPLES / "camt053").glob("*.xml"))
PACS004 = sorted((SAMPLES / "pacs004").glob("*.xml"))
INVALID = sorted((SAMPLES / "invalid").glob("*.xml"))
CORPORATES = sorted((SAMPLES / "corporates").glob("*.xml"))  # funding pacs.008s, then pain.001s
CORPORATES_FX = sorted((SAMPLES / "corporates-fx").glob("*.xml"))  # FX positions' pacs.009, pain.001s
VALID = PACS008 + CAMT053 + PACS004 + CORPORATES + CORPORATES_FX

# Customers of other banks: never in the registry, but legitimate counterparties.
NON_TOKENIZED = {
    "FR7630004008280001058392658": "Fatima Ouali (BNPAFRPPXXX)",
    "GB52BARC20325373491826": "George Hill (BARCGB22XXX)",
    "PL09102010260000180294731256": "Hanna Kowalski (BPKOPLPWXXX)",
}
BAD_IBAN_FILE = "04-bad-iban-check-digits.xml"


# ------------------------------------------------------------------ helpers
def parse(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_blank_text=False)
    return etree.parse(str(path), parser)


@functools.lru_cache(maxsize=None)
def schema(msg_type: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{msg_type}.xsd")))


def iso_parts(tree: etree._ElementTree, localname: str, family: str) -> list[etree._Element]:
    """Elements `localname` in an ISO 20022 namespace of `family` (e.g. 'head.001.'), anywhere in the tree."""
    return [el for el in tree.iter() if isinstance(el.tag, str)
            and etree.QName(el).localname == localname
            and (etree.QName(el).namespace or "").startswith(ISO + family)]


def msg_type(el: etree._Element) -> str:
    return etree.QName(el).namespace[len(ISO):]


def document(tree) -> etree._Element:
    docs = [d for d in iso_parts(tree, "Document", "") ]
    assert len(docs) == 1, f"expected exactly one ISO Document, found {len(docs)}"
    return docs[0]


def detached(el: etree._Element) -> etree._ElementTree:
    """A copy of `el` as the root of its own tree (namespace declarations are carried over)."""
    return etree.ElementTree(etree.fromstring(etree.tostring(el)))


def q(el: etree._Element, path: str) -> list[etree._Element]:
    """xpath in the element's own namespace, written without prefixes: 'GrpHdr/NbOfTxs'."""
    ns = etree.QName(el).namespace
    steps = "/".join("d:" + s if s not in (".", "..", "") and not s.startswith("@") else s
                     for s in path.split("/"))
    return el.xpath(steps, namespaces={"d": ns})


def text(el, path) -> str:
    found = q(el, path)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return found[0].text.strip()


def account_of(acct: etree._Element) -> str:
    iban = q(acct, "Id/IBAN")
    return iban[0].text.strip() if iban else text(acct, "Id/Othr/Id")


def registry() -> list[dict[str, str]]:
    with (SAMPLES / "accounts.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def valid_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


# ------------------------------------------------------------------ XSD validity
@pytest.mark.parametrize("path", VALID, ids=valid_id)
def test_sample_is_valid_against_its_xsd(path):
    tree = parse(path)
    doc = document(tree)
    families = {"pacs008": ("pacs.008.",), "camt053": ("camt.053.",), "pacs004": ("pacs.004.",),
                "corporates": ("pacs.008.", "pain.001."),
                "corporates-fx": ("pacs.009.", "pain.001.")}[path.parent.name]
    assert msg_type(doc).startswith(families), msg_type(doc)
    xsd = schema(msg_type(doc))
    assert xsd.validate(detached(doc)), f"{msg_type(doc)}: {xsd.error_log}"
    for hdr in iso_parts(tree, "AppHdr", "head.001."):
        hxsd = schema(msg_type(hdr))
        assert hxsd.validate(detached(hdr)), f"{msg_type(hdr)}: {hxsd.error_log}"


def test_sample_set_covers_the_story():
    kinds = {}
    for path in PACS008:
        tree = parse(path)
        kinds[path.name] = (msg_type(document(tree)),
                            tuple(msg_type(h) for h in iso_parts(tree, "AppHdr", "head.001.")),
                            etree.QName(tree.getroot()).localname)
    versions = {v[0] for v in kinds.values()}
    assert {"pacs.008.001.02", "pacs.008.001.08", "pacs.008.001.10", "pacs.008.001.13"} <= versions
    assert {h for v in kinds.values() for h in v[1]} == {"head.001.001.02", "head.001.001.04"}
    assert {v[2] for v in kinds.values()} >= {"Document", "Envelope", "message"}
    assert {msg_type(document(parse(p))) for p in CAMT053} == {
        "camt.053.001.02", "camt.053.001.08", "camt.053.001.14"}
    crlf = [p.name for p in PACS008 if b"\r\n" in p.read_bytes()]
    assert crlf and all(not p.read_bytes().startswith(b"<?xml") for p in PACS008 if p.name in crlf)


# ------------------------------------------------------------------ pacs.008 content
def transactions(doc):
    return q(doc, "FIToFICstmrCdtTrf/CdtTrfTxInf")


@pytest.mark.parametrize("path", PACS008, ids=valid_id)
def test_pacs008_group_totals_agree(path):
    doc = document(parse(path))
    txs = transactions(doc)
    grp = q(doc, "FIToFICstmrCdtTrf/GrpHdr")[0]
    assert int(text(grp, "NbOfTxs")) == len(txs)
    amounts = [Decimal(text(tx, "IntrBkSttlmAmt")) for tx in txs]
    assert q(grp, "CtrlSum"), "every valid sample carries a CtrlSum"
    assert Decimal(text(grp, "CtrlSum")) == sum(amounts)
    total = q(grp, "TtlIntrBkSttlmAmt")
    if total:
        assert Decimal(total[0].text) == sum(amounts)
        assert {total[0].get("Ccy")} == {tx.get("Ccy") for tx in q(doc, ".//IntrBkSttlmAmt")}


def amount_elements(tree):
    return [el for el in tree.iter() if isinstance(el.tag, str) and el.get("Ccy") is not None]


@pytest.mark.parametrize("path", VALID, ids=valid_id)
def test_amounts_have_the_currency_exact_decimals(path):
    for el in amount_elements(parse(path)):
        exponent = Currency(el.get("Ccy")).exponent
        value = el.text.strip()
        decimals = len(value.split(".")[1]) if "." in value else 0
        assert decimals == exponent, f"{value} {el.get('Ccy')}"


def test_identifiers_are_unique_and_uetrs_are_v4():
    msg_ids, uetrs = [], []
    for path in PACS008 + INVALID:
        tree = parse(path)
        if not iso_parts(tree, "Document", "pacs.008."):
            continue
        doc = document(tree)
        msg_ids.append(text(doc, "FIToFICstmrCdtTrf/GrpHdr/MsgId"))
        uetrs += [u.text for u in q(doc, ".//UETR")]
    for path in CAMT053:
        msg_ids.append(text(document(parse(path)), "BkToCstmrStmt/GrpHdr/MsgId"))
    assert len(msg_ids) == len(set(msg_ids))
    assert len(uetrs) == len(set(uetrs))
    for u in uetrs:
        assert u == str(uuid.UUID(u)) and uuid.UUID(u).version == 4, u


@pytest.mark.parametrize("path", PACS008, ids=valid_id)
def test_every_account_is_registered_or_a_known_outsider(path):
    known = {row["account"] for row in registry()} | set(NON_TOKENIZED)
    doc = document(parse(path))
    for tx in transactions(doc):
        for side in ("DbtrAcct", "CdtrAcct"):
            assert account_of(q(tx, side)[0]) in known


# ------------------------------------------------------------------ corporates-fx
RHEIN_OPTIK = "DE21500400002532368877"  # Rhein Optik GmbH at Commerzbank: paid in EUR by a fiat leg


def test_corporates_fx_totals_accounts_and_uetrs():
    known = {row["account"] for row in registry()} | {RHEIN_OPTIK}
    with (SAMPLES / "corporates-fx" / "accounts.csv").open(encoding="utf-8", newline="") as f:
        extra = list(csv.DictReader(f))
    assert {r["kind"] for r in extra} == {"fx", "wallet"} and not known & {r["account"] for r in extra}
    assert sorted(r["currency"] for r in extra if r["kind"] == "fx") == ["EUR", "SGD", "USD"]
    known |= {r["account"] for r in extra}
    uetrs = []
    for path in CORPORATES_FX:
        doc = document(parse(path))
        group = doc[0]  # FICdtTrf or CstmrCdtTrfInitn
        txs = q(group, "CdtTrfTxInf") or q(group, "PmtInf/CdtTrfTxInf")
        amounts = [Decimal(a.text) for a in q(group, ".//IntrBkSttlmAmt") + q(group, ".//InstdAmt")]
        assert int(text(group, "GrpHdr/NbOfTxs")) == len(txs) == len(amounts)
        assert Decimal(text(group, "GrpHdr/CtrlSum")) == sum(amounts)
        for block in q(group, "PmtInf"):
            assert Decimal(text(block, "CtrlSum")) == sum(Decimal(a.text) for a in q(block, ".//InstdAmt"))
        for acct in q(group, ".//DbtrAcct") + q(group, ".//CdtrAcct"):
            assert account_of(acct) in known
        uetrs += [u.text for u in q(doc, ".//UETR")]
    assert len(uetrs) == len(set(uetrs)) and all(uuid.UUID(u).version == 4 for u in uetrs)


# ------------------------------------------------------------------ camt.053
def signed(el) -> Decimal:
    amount = Decimal(text(el, "Amt"))
    return amount if text(el, "CdtDbtInd") == "CRDT" else -amount


def status(entry) -> str:
    sts = q(entry, "Sts")[0]
    codes = q(sts, "Cd")
    return (codes[0].text if codes else sts.text).strip()


@pytest.mark.parametrize("path", CAMT053, ids=valid_id)
def test_camt053_statement_adds_up(path):
    doc = document(parse(path))
    stmts = q(doc, "BkToCstmrStmt/Stmt")
    assert stmts
    for stmt in stmts:
        ccy = text(stmt, "Acct/Ccy")
        balances = {text(b, "Tp/CdOrPrtry/Cd"): b for b in q(stmt, "Bal")}
        assert {"OPBD", "CLBD"} <= set(balances)
        assert {q(b, "Amt")[0].get("Ccy") for b in balances.values()} == {ccy}
        entries = q(stmt, "Ntry")
        booked = [e for e in entries if status(e) == "BOOK"]
        assert signed(balances["OPBD"]) + sum(signed(e) for e in booked) == signed(balances["CLBD"])
        summary = q(stmt, "TxsSummry")
        if summary:
            for kind, cd in (("TtlCdtNtries", "CRDT"), ("TtlDbtNtries", "DBIT")):
                mine = [e for e in entries if text(e, "CdtDbtInd") == cd]
                assert int(text(summary[0], f"{kind}/NbOfNtries")) == len(mine)
                assert Decimal(text(summary[0], f"{kind}/Sum")) == sum(Decimal(text(e, "Amt")) for e in mine)
        for e in entries:  # every entry says who paid whom, and how to match it
            for tx in q(e, "NtryDtls/TxDtls"):
                assert text(tx, "Refs/EndToEndId") and text(tx, "Refs/AcctSvcrRef")
                assert q(tx, "RltdPties/DbtrAcct") and q(tx, "RltdPties/CdtrAcct") and q(tx, "RmtInf")


def test_camt053_entries_match_the_pacs008_samples():
    """Omnibus credits are the mints, debits the burns: same EndToEndId, UETR, amount and currency."""
    by_e2e = {}
    for path in PACS008:
        for tx in transactions(document(parse(path))):
            by_e2e[text(tx, "PmtId/EndToEndId")] = tx
    wallets = {row["account"]: row for row in registry()}
    for path in CAMT053:
        doc = document(parse(path))
        for stmt in q(doc, "BkToCstmrStmt/Stmt"):
            omnibus = account_of(q(stmt, "Acct")[0])
            assert wallets[omnibus]["kind"] == "omnibus"
            for e in q(stmt, "Ntry"):
                (tx,) = q(e, "NtryDtls/TxDtls")
                src = by_e2e[text(tx, "Refs/EndToEndId")]
                assert Decimal(text(src, "IntrBkSttlmAmt")) == Decimal(text(e, "Amt"))
                assert q(src, "IntrBkSttlmAmt")[0].get("Ccy") == q(e, "Amt")[0].get("Ccy")
                if q(tx, "Refs/UETR"):
                    assert text(tx, "Refs/UETR") == text(src, "PmtId/UETR")
                dbtr = account_of(q(src, "DbtrAcct")[0])
                cdtr = account_of(q(src, "CdtrAcct")[0])
                assert (dbtr, cdtr) == (account_of(q(tx, "RltdPties/DbtrAcct")[0]),
                                        account_of(q(tx, "RltdPties/CdtrAcct")[0]))
                if text(e, "CdtDbtInd") == "CRDT":  # mint: outsider pays a wallet
                    assert dbtr not in wallets and wallets[cdtr]["kind"] == "wallet"
                else:  # burn: a wallet pays an outsider
                    assert wallets[dbtr]["kind"] == "wallet" and cdtr not in wallets


# ------------------------------------------------------------------ IBANs and the registry
def ibans_in(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return [row["account"] for row in registry() if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", row["account"])]
    tree = parse(path)
    return [el.text.strip() for el in tree.iter() if isinstance(el.tag, str)
            and etree.QName(el).localname == "IBAN"]


def test_every_iban_in_samples_is_valid():
    files = [SAMPLES / "accounts.csv"] + VALID + INVALID
    seen = 0
    for path in files:
        for iban in ibans_in(path):
            seen += 1
            if path.name == BAD_IBAN_FILE and iban not in NON_TOKENIZED:
                assert not IBAN(iban, allow_invalid=True).is_valid, iban  # the deliberate one
            else:
                IBAN(iban, validate_bban=True)  # raises on any invalid IBAN
    assert seen > 20
    for iban in NON_TOKENIZED:
        IBAN(iban, validate_bban=True)


def test_accounts_csv_is_the_demo_registry():
    raw = (SAMPLES / "accounts.csv").read_text(encoding="utf-8")
    assert raw.splitlines()[0] == "account,currency,wallet,status,kind,scheme,issuer,group"
    rows = registry()
    assert len({r["account"] for r in rows}) == len(rows)
    assert len({r["wallet"] for r in rows if r["wallet"]}) == len([r for r in rows if r["wallet"]])
    for r in rows:
        assert r["status"] in {"active", "blocked", "closed"}
        assert r["kind"] in {"wallet", "omnibus"}
        assert r["currency"] in {"EUR", "JPY", "KWD", "USD", "SGD"}
        assert (r["wallet"] == "") == (r["kind"] == "omnibus")
        assert r["account"] not in NON_TOKENIZED
    omnibus = {r["currency"]: r["account"] for r in rows if r["kind"] == "omnibus"}
    assert omnibus.keys() == {"EUR", "JPY", "KWD", "USD", "SGD"}
    assert omnibus["JPY"] == "TOKN-OMNIBUS-JPY" and omnibus["KWD"] == "TOKN-OMNIBUS-KWD"
    # The samples name these Othr/Ids in the TOKENBANK scheme; the registry must say so to match.
    assert {r["account"] for r in rows if r["scheme"]} == {
        r["account"] for r in rows if r["account"][:2] not in ("DE", "KW")}
    assert {r["scheme"] for r in rows if r["scheme"]} == {"Prtry:TOKENBANK"}
    # The corporates' accounts: each tied to its customer's channel (the group), the only
    # channel that may debit it.
    groups = {r["wallet"]: r["group"] for r in rows if r["group"]}
    assert set(groups.values()) == {"NORTHWIND-TRADING", "LUMEN-ELECTRONICS", "HELIX-GROUP-TREASURY"}
    assert [w for w, g in groups.items() if g == "HELIX-GROUP-TREASURY"] == [
        "w-helix-treasury-eur", "w-helix-treasury-usd", "w-helix-treasury-sgd", "w-helix-europe-eur",
        "w-helix-americas-usd", "w-helix-asia-sgd"]
    statuses = {r["wallet"]: r["status"] for r in rows if r["wallet"]}
    assert statuses["w-erik"] == "blocked"
    assert "closed" in statuses.values()


# ------------------------------------------------------------------ samples/invalid
def first_line(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


@pytest.mark.parametrize("path", INVALID, ids=valid_id)
def test_invalid_sample_says_why_on_its_first_line(path):
    line = first_line(path)
    assert line.startswith("<!--") and line.endswith("-->") and "INVALID" in line
    parse(path)  # well-formed, all of them


def test_invalid_samples_fail_for_the_stated_reason():
    files = {p.name: p for p in INVALID}
    assert set(files) == {"01-schema-missing-chrgbr.xml", "02-nboftxs-mismatch.xml",
                          "03-eur-amount-three-decimals.xml", BAD_IBAN_FILE, "not-iso.xml"}

    def doc_of(name):
        return document(parse(files[name]))

    def xsd_ok(doc):
        return schema(msg_type(doc)).validate(detached(doc))

    assert not xsd_ok(doc_of("01-schema-missing-chrgbr.xml"))
    # the others are schema-valid: they fail on business rules only
    for name in ("02-nboftxs-mismatch.xml", "03-eur-amount-three-decimals.xml", BAD_IBAN_FILE):
        assert xsd_ok(doc_of(name)), name

    doc = doc_of("02-nboftxs-mismatch.xml")
    assert int(text(doc, "FIToFICstmrCdtTrf/GrpHdr/NbOfTxs")) != len(transactions(doc))

    doc = doc_of("03-eur-amount-three-decimals.xml")
    (amt,) = q(doc, ".//IntrBkSttlmAmt")
    assert amt.get("Ccy") == "EUR" and Decimal(amt.text).as_tuple().exponent < -Currency.eur.exponent

    bad = [i for i in ibans_in(files[BAD_IBAN_FILE]) if not IBAN(i, allow_invalid=True).is_valid]
    assert len(bad) == 1

    tree = parse(files["not-iso.xml"])
    assert not iso_parts(tree, "Document", "") and not iso_parts(tree, "AppHdr", "")
