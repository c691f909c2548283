"""pacs.009 between banks: read in every version (.02 to .13, core and cover), the corpus's
verdicts, answered with the pacs.002 of its release; another bank funding and defunding its
institution wallet; a cover payment and its pacs.008 move the money once, in either order."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bridge.iso.pacs002 import INSTITUTION_TRANSFER_REPLY_VERSIONS
from bridge.iso.reader import MessageReader
from bridge.status_requests.lifecycle import lifecycle
from builders import FiTx, StatusTx, Tx, pacs008, pacs009, pacs028
from pvp_support import BANK_B, FATIMA, ISSUER, pipeline, reply_transactions, state, with_fx_accounts
from pvp_support import fx_store  # noqa: F401 - a fixture

ALICE = "DE82500199000417283905"
BANK_B_BIC = "COBADEFFXXX"
VERSIONS = [f"{n:02d}" for n in range(2, 14)]


def _corpus_documents(corpus_root: Path) -> dict[str, str]:
    with (corpus_root / "VALIDATION.tsv").open(encoding="utf-8") as handle:
        return {row["local_path"]: row["valid"] for row in csv.DictReader(handle, delimiter="\t")
                if row["part"] == "Document" and "pacs.009" in row["local_path"]}


def test_corpus_pacs009_verdicts_agree_and_valid_ones_are_read(corpus_root: Path, reader) -> None:
    rows = _corpus_documents(corpus_root)
    assert len(rows) >= 25
    for local, valid in rows.items():
        read = reader.read((corpus_root / local).read_bytes())
        if valid == "no-xsd":
            continue
        assert bool(read.document_valid) == (valid == "yes"), local
        if valid == "yes" and read.message_type and read.message_type.startswith("pacs.009"):
            assert read.payload is not None, (local, [str(f) for f in read.findings])
            assert all(t.amount.value > 0 for t in read.payload.transactions)


def test_corpus_covers_carry_their_underlying(corpus_root: Path, reader) -> None:
    covers = [p for p in (corpus_root / "corpus").rglob("*COV*pacs*009*.xml")] + \
             [p for p in (corpus_root / "corpus").rglob("*009_cov*.xml")]
    assert covers
    for path in covers:
        read = reader.read(path.read_bytes())
        if read.payload is not None:
            assert any(t.underlying is not None for t in read.payload.transactions), path.name


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_is_applied_and_answered_in_its_release(memory_registry, version) -> None:
    store = with_fx_accounts(memory_registry)
    outcome = pipeline(store).handle(pacs009([FiTx(amount="250.00", debtor_bic=BANK_B_BIC,
                                                   creditor_bic=BANK_B_BIC, creditor_iban=BANK_B)],
                                             version=version, instructing_bic=BANK_B_BIC).encode())
    assert outcome.verdict == "accepted", outcome.summary
    assert outcome.reply.message_type == INSTITUTION_TRANSFER_REPLY_VERSIONS[f"pacs.009.001.{version}"]
    assert MessageReader().read(outcome.reply.body).valid
    assert state(store)[0] == {("w-bankb", "EUR"): 25_000}


def test_an_institution_funds_and_defunds_its_wallet(fx_store) -> None:
    run = pipeline(fx_store)
    funding = pacs009([FiTx(amount="1000.00", debtor_bic=BANK_B_BIC, creditor_bic=BANK_B_BIC,
                            creditor_iban=BANK_B)], instructing_bic=BANK_B_BIC)
    assert [t.operation.kind for t in run.handle(funding.encode()).transactions] == ["mint"]
    # Defunding debits the wallet: it comes through the issuer's own channel (the debit rule).
    defunding = pacs009([FiTx(amount="400.00", debtor_bic=BANK_B_BIC, creditor_bic=BANK_B_BIC,
                              debtor_iban=BANK_B, creditor_iban=FATIMA, debtor_agent=ISSUER)],
                        instructing_bic=ISSUER)
    outcome = run.handle(defunding.encode())
    assert [(t.status, t.operation.kind) for t in outcome.transactions] == [("ACSC", "burn")]
    balances, supply = state(fx_store)
    assert balances == {("w-bankb", "EUR"): 60_000} and supply == {"EUR": 60_000}
    foreign = pacs009([FiTx(amount="10.00", debtor_bic=BANK_B_BIC, creditor_bic=BANK_B_BIC,
                            debtor_iban=BANK_B, creditor_iban=FATIMA, debtor_agent=ISSUER)],
                      instructing_bic=BANK_B_BIC)
    assert [t.reason for t in run.handle(foreign.encode()).transactions] == ["AG01"]
    assert state(fx_store) == (balances, supply)


@pytest.mark.parametrize("cover_first", [False, True])
@pytest.mark.parametrize("with_uetr", [True, False])
def test_a_cover_and_its_pacs008_move_the_money_once(fx_store, cover_first, with_uetr) -> None:
    uetr = "5b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e" if with_uetr else None
    direct = pacs008([Tx(amount="300.00", debtor_iban=FATIMA, creditor_iban=ALICE,
                         end_to_end_id="E2E-MARKET-1", uetr=uetr)])
    cover = pacs009([FiTx(amount="300.00", debtor_bic="BNPAFRPPXXX", creditor_bic=ISSUER,
                          end_to_end_id="E2E-MARKET-1", uetr=uetr, cover=(FATIMA, ALICE))],
                    version="08" if with_uetr else "07")
    run = pipeline(fx_store)
    first, second = (cover, direct) if cover_first else (direct, cover)
    assert run.handle(first.encode()).verdict == "accepted"
    after_first = state(fx_store)
    outcome = run.handle(second.encode())
    assert [(t.status, t.result) for t in outcome.transactions] == [("ACSC", "replayed")]
    assert state(fx_store) == after_first == ({("w-alice", "EUR"): 30_000}, {"EUR": 30_000})


def test_a_cover_shows_its_underlying_in_status_and_pacs028(memory_registry) -> None:
    store = with_fx_accounts(memory_registry)
    uetr = "6c1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    run = pipeline(store)
    cover = pacs009([FiTx(amount="300.00", creditor_bic=ISSUER, end_to_end_id="E2E-COV-9",
                          uetr=uetr, cover=(FATIMA, ALICE))], msg_id="COV-9")
    answered = run.handle(cover.encode())
    assert reply_transactions(answered.reply.body)[0][2] == "cover for Buyer -> Supplier 300.00 EUR"
    with store() as uow:
        [message] = lifecycle(uetr, uow, MessageReader())
    assert message.message_type == "pacs.009.001.08"
    assert message.transactions[0].underlying == "cover for Buyer -> Supplier 300.00 EUR"
    asked = run.handle(pacs028([StatusTx(uetr=uetr),
                                StatusTx(msg_id="COV-9", end_to_end_id="E2E-COV-9",
                                         original_type="pacs.009.001.08")]).encode())
    assert reply_transactions(asked.reply.body) == [
        ("ACSC", None, None), ("ACSC", None, "cover for Buyer -> Supplier 300.00 EUR")]


def test_pacs009_across_currencies_settles_pvp(memory_registry) -> None:
    """The bank moves a customer's USD into another bank's EUR wallet: no XchgRate in a
    pacs.009, so the table's rate."""
    from pvp_support import BUYER, FX_EUR
    store = with_fx_accounts(memory_registry)
    run = pipeline(store)
    run.handle(pacs008([Tx(amount="1000.00", currency="USD", debtor_iban=FATIMA, creditor_iban=BUYER)]).encode())
    run.handle(pacs009([FiTx(amount="500.00", debtor_bic=ISSUER, creditor_bic=ISSUER, creditor_iban=FX_EUR)],
                       instructing_bic=ISSUER).encode())
    outcome = run.handle(pacs009([FiTx(amount="100.00", currency="USD", debtor_bic=ISSUER,
                                       creditor_bic=BANK_B_BIC, debtor_iban=BUYER, creditor_iban=BANK_B,
                                       debtor_agent=ISSUER)],
                                 instructing_bic=ISSUER).encode())
    assert outcome.verdict == "accepted", outcome.transactions[0].info
    balances, supply = state(store)
    assert balances[("w-bankb", "EUR")] == 9_200 and balances[("fx-usd", "USD")] == 10_000
    assert supply == {"USD": 100_000, "EUR": 50_000}
