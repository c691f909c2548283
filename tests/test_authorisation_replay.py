"""Who may cause what, end to end on the in-memory fake of the ports (tests/fakes.py), the
samples on a real store (SQLite and PostgreSQL): another bank that is
an allowed sender may credit our customers, but its transfers, burns and omnibus statements
change no balance and no supply, and are answered; the samples tell the same story."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from builders import Tx, app_header, pacs008, swift_envelope
from camt053_builders import Ntry, camt053
from reconcile_support import ManualClock, clocked, pipeline

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ISSUER, BNP, BARCLAYS, PKO = "TOKNDEFFXXX", "BNPAFRPPXXX", "BARCGB22XXX", "BPKOPLPWXXX"
ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
FATIMA, GEORGE = "FR7630004008280001058392658", "GB52BARC20325373491826"


def state(store) -> tuple[dict, dict]:
    with store() as uow:
        return ({(b.wallet, b.currency): b.balance for b in uow.ledger.balances()},
                uow.ledger.supply())


def answered(outcome) -> list[tuple[str, str | None, str | None]]:
    """(TxSts, reason code, AddtlInf) of each transaction in the pacs.002 reply."""
    root = etree.fromstring(outcome.reply.body)
    document = root if root.tag.endswith("Document") else next(e for e in root if e.tag.endswith("Document"))
    ns = etree.QName(document).namespace
    return [(t.findtext(f"{{{ns}}}TxSts"), t.findtext(f"{{{ns}}}StsRsnInf/{{{ns}}}Rsn/{{{ns}}}Cd"),
             t.findtext(f"{{{ns}}}StsRsnInf/{{{ns}}}AddtlInf")) for t in document.iter(f"{{{ns}}}TxInfAndSts")]


def from_bank(bank: str, transactions: list[Tx]) -> bytes:
    """A pacs.008 as `bank` sends it to us: AppHdr Fr `bank`, GrpHdr/InstgAgt `bank`."""
    return swift_envelope(pacs008(transactions, instructing_bic=bank),
                          app_header(sender=bank, receiver=ISSUER)).encode()


def test_a_foreign_bank_may_credit_but_not_debit_our_customers(memory_registry) -> None:
    clock = ManualClock()
    store = clocked(memory_registry, clock)
    run = pipeline(store, clock, issuer_bic=ISSUER, allowed_senders=frozenset({BNP, BARCLAYS}))
    credit = run.handle(from_bank(BARCLAYS, [Tx(amount="1000.00", debtor_iban=GEORGE, creditor_iban=ALICE,
                                                 debtor_bic=BARCLAYS)]))
    assert credit.verdict == "accepted" and credit.transactions[0].operation.kind == "mint"
    before = state(store)
    assert before == ({("w-alice", "EUR"): 100000}, {"EUR": 100000})

    # Barclays claims our customer Alice as its debtor (even with us as her agent): a transfer
    # to Bruno and a burn to George; also in a dry run, and in one batch.
    transfer = Tx(amount="400.00", debtor_iban=ALICE, creditor_iban=BRUNO, debtor_bic=ISSUER)
    burn = Tx(amount="600.00", debtor_iban=ALICE, creditor_iban=GEORGE, debtor_bic=ISSUER,
              creditor_bic=BARCLAYS)
    planned = run.handle(from_bank(BARCLAYS, [transfer, burn]), dry_run=True)
    assert [(t.status, t.reason, t.result) for t in planned.transactions] == [("RJCT", "AG01", None)] * 2
    for message in (from_bank(BARCLAYS, [transfer]), from_bank(BARCLAYS, [burn]),
                    from_bank(BARCLAYS, [transfer, burn])):
        outcome = run.handle(message)
        assert outcome.verdict == "rejected"
        replies = answered(outcome)
        assert [(status, reason) for status, reason, _ in replies] == [("RJCT", "AG01")] * len(replies)
        assert all(BARCLAYS in info and "debit" in info for _, _, info in replies)
    assert run.handle_batch([from_bank(BARCLAYS, [transfer]), from_bank(BARCLAYS, [burn])])[1].verdict == "rejected"
    assert state(store) == before

    # Barclays' omnibus statement that would mint 1,000,000.00 to Alice: refused, recorded, no mint
    big = Ntry(amount="1000000.00", end_to_end_id="BARC-STMT-1", creditor_iban=ALICE, debtor_iban=GEORGE)
    for raw in (camt053([big], servicer_bic=BARCLAYS).encode(),
                swift_envelope(camt053([big]), app_header(sender=BARCLAYS, msg_def="camt.053.001.08")).encode()):
        refused = run.handle(raw)
        assert refused.verdict == "refused" and "not allowed to send statements" in refused.summary
        assert run.handle(raw).seen_before  # recorded in the inbox, with its reason
    assert state(store) == before

    # The same debits through our own channel move the tokens.
    own = [run.handle(from_bank(ISSUER, [tx])) for tx in (transfer, burn)]
    assert [o.verdict for o in own] == ["accepted", "accepted"]
    assert state(store) == ({("w-alice", "EUR"): 0, ("w-bruno", "EUR"): 40000}, {"EUR": 40000})


def test_every_sample_replays_without_ag01_under_the_authorisation_rules(registry) -> None:
    clock = ManualClock()
    store = clocked(registry, clock)
    run = pipeline(store, clock, issuer_bic=ISSUER, allowed_senders=frozenset({BNP, BARCLAYS, PKO}),
                   statement_senders=frozenset({ISSUER}))
    outcomes = {path.relative_to(SAMPLES).as_posix(): run.handle(path.read_bytes())
                for folder in ("pacs008", "camt053", "pacs004", "invalid")
                for path in sorted((SAMPLES / folder).glob("*.xml"))}
    for name, outcome in outcomes.items():
        assert "AG01" not in {t.reason for t in outcome.transactions}, (name, outcome.summary)
        assert "not allowed" not in outcome.summary and "addressed to" not in outcome.summary, name
    verdicts = {name: o.verdict for name, o in outcomes.items() if not name.startswith("invalid/")}
    assert verdicts == {name: ("partial" if name.startswith("pacs008/07") else
                               "rejected" if name.startswith(("pacs008/09", "pacs004/04")) else "accepted")
                        for name in verdicts}
    # pacs004: 250.00 of 01's mint burnt back, 03's transfer back, 04's burn of 1,000.00 minted back
    assert state(store)[1] == {"EUR": 1062500 - 25000 + 100000, "JPY": 150000, "KWD": 12345}


def test_statement_senders_are_read_from_the_environment_and_wired() -> None:
    from adapters.bootstrap import bridge_config
    from adapters.config import load_settings
    settings = load_settings({"TOKENBRIDGE_ISSUER_BIC": ISSUER, "TOKENBRIDGE_ALLOWED_SENDERS": f"{BNP}, barcgb22",
                              "TOKENBRIDGE_STATEMENT_SENDERS": " markdeffxxx ,TOKNDEFF"})
    authority = bridge_config(settings).authority
    assert authority.allowed_senders == frozenset({BNP, "BARCGB22"})
    assert authority.statement_servicers == frozenset({"MARKDEFFXXX", "TOKNDEFF"})
    assert bridge_config(load_settings({"TOKENBRIDGE_ISSUER_BIC": ISSUER})).authority.statement_servicers == {ISSUER}


def test_a_transaction_level_instructing_agent_is_read_and_must_be_allowed(memory_registry) -> None:
    run = pipeline(memory_registry, ManualClock(), issuer_bic=ISSUER, allowed_senders=frozenset({BNP}))
    credits = [Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ALICE) for _ in range(2)]
    xml = pacs008(credits, instructing_bic=BNP)
    second = xml.rindex("<ChrgBr>SLEV</ChrgBr>") + len("<ChrgBr>SLEV</ChrgBr>")
    xml = xml[:second] + "<InstgAgt><FinInstnId><BICFI>DEUTDEFFXXX</BICFI></FinInstnId></InstgAgt>" + xml[second:]
    outcome = run.handle(xml.encode())
    assert outcome.verdict == "rejected" and not outcome.findings
    assert [(status, reason) for status, reason, _ in answered(outcome)] == [("RJCT", "AG01")] * 2
    assert "DEUTDEFFXXX (CdtTrfTxInf[2]/InstgAgt)" in answered(outcome)[0][2]
    assert state(memory_registry) == ({}, {})
