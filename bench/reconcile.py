"""Reconciliation at scale: one omnibus camt.053 of 100,000 entries against a journal of
1,000,000 postings, in the pure core (no database: the journal is built in memory as the SQL
ledger's `journal()` returns it, and the whole of it is handed to the core, not a window).

Phases, each timed on its own:
1. read: the statement's XML (written by the bridge's camt.053 writer) through the reader:
   safe parse, official-XSD validation, domain objects;
2. reconcile: movements from the journal, plan (match every entry), conclude (classify every
   operation, breaks, backing);
3. report: the JSON report (dict and bytes).
Peak memory: the process's peak RSS after each phase (ru_maxrss), and tracemalloc's peak of
Python allocations during the reconcile phase alone (a separate, slower run).

    .venv/bin/python bench/reconcile.py [--entries 100000] [--postings 1000000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import resource
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.accounts import OMNIBUS, RegisteredAccount  # noqa: E402
from bridge.iso.camt053_writer import write_statement_message  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from bridge.money import Amount  # noqa: E402
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs  # noqa: E402
from bridge.parties import AccountId, Party  # noqa: E402
from bridge.ports import Posting, issuance_holder  # noqa: E402
from bridge.reconciliation.conclusion import conclude  # noqa: E402
from bridge.reconciliation.entries import statement_period, statement_totals  # noqa: E402
from bridge.reconciliation.matching import supply_movements  # noqa: E402
from bridge.reconciliation.outcomes import ReconciledAccount, ReconciliationReport  # noqa: E402
from bridge.reconciliation.plan import dry_run, plan_statement  # noqa: E402
from bridge.reconciliation.report import report_to_dict  # noqa: E402
from bridge.reconciliation.statement_mints import ledger_reference  # noqa: E402
from bridge.statements import (Balance, Statement, StatementEntry, StatementMessage,  # noqa: E402
                               TransactionDetails)

DAY = datetime(2026, 11, 24, tzinfo=timezone.utc)
DAYS = 30  # the journal's history; the statement is of its last day
WALLETS = 5000
OMNIBUS_ACCOUNT = "DE56500199000990000018"
ISSUANCE = issuance_holder("EUR")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(entries: int, postings: int, seed: int = 7):
    """The journal (postings) and the statement (domain) of the last day. The statement's
    entries: 90% credits (mints), 10% debits (burns), every one on the ledger; they name their
    payment by UETR (70%), by MsgId + EndToEndId only (20%), by the ledger's reference as
    AcctSvcrRef only (5%) or by nothing but the amount (5%). Other postings: older mints and
    burns, and transfers (two postings each), over 30 days."""
    rng = random.Random(seed)
    wallets = [f"w-{i:05d}" for i in range(WALLETS)]
    accounts = {f"TOKN-WALLET-{i:05d}": RegisteredAccount(f"TOKN-WALLET-{i:05d}", "EUR", w)
                for i, w in enumerate(wallets)}
    accounts[OMNIBUS_ACCOUNT] = RegisteredAccount(OMNIBUS_ACCOUNT, "EUR", None, kind=OMNIBUS)
    account_of = {w: a for a, r in accounts.items() if (w := r.wallet)}
    journal: list[Posting] = []
    sequence = 0

    def post(key: str, kind: str, holder: str, counterparty: str, units: int, at: datetime,
             refs: PaymentRefs) -> None:
        nonlocal sequence
        sequence += 1
        journal.append(Posting(sequence, key, kind, holder, counterparty, "EUR", units, at, refs))

    # History: older mints (and a few burns) and transfers, before the statement's day.
    older = postings - entries
    history_ops = older // 3  # a third of the older postings are mint/burn legs, the rest transfer legs
    for i in range(history_ops):
        at = DAY - timedelta(days=DAYS) + timedelta(seconds=i * (DAYS - 1) * 86400 // history_ops)
        uetr = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        wallet = wallets[i % WALLETS]
        units = 100_000 + rng.randrange(1_000_000)
        refs = PaymentRefs(f"H{i}", f"HE2E{i}", f"HT{i}", uetr)
        post(f"uetr:{uetr}", MINT, wallet, ISSUANCE, units, at, refs)
    transfers = (older - history_ops) // 2
    for i in range(transfers):
        at = DAY - timedelta(days=DAYS) + timedelta(seconds=i * DAYS * 86400 // transfers)
        a, b = wallets[i % WALLETS], wallets[(i * 7 + 1) % WALLETS]
        key = f"sha256:t{i}"
        refs = PaymentRefs(f"T{i}", f"TE2E{i}", f"TT{i}")
        post(key, TRANSFER, a, b, -100, at, refs)
        post(key, TRANSFER, b, a, 100, at, refs)
    # The statement's day: one ledger operation per entry.
    opening = sum(p.amount for p in journal if p.counterparty == ISSUANCE)
    items = []
    for i in range(entries):
        at = DAY + timedelta(seconds=i * 86000 // entries)
        credit = i % 10 != 9
        wallet = wallets[(i * 13) % WALLETS]
        uetr = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        units = 1_000 + i  # distinct amounts, so amount-only matches are unambiguous
        refs = PaymentRefs(f"M{i}", f"E2E-{i}", f"TX{i}", uetr)
        key = f"uetr:{uetr}"
        post(key, MINT if credit else BURN, wallet, ISSUANCE, units if credit else -units, at, refs)
        style = i % 20
        shown = (refs if style < 14 else
                 PaymentRefs(f"M{i}", f"E2E-{i}", f"TX{i}") if style < 18 else
                 PaymentRefs(account_servicer_ref=ledger_reference(key)) if style < 19 else PaymentRefs())
        items.append((at, credit, units, shown, wallet))
    closing = opening + sum(u if c else -u for _, c, u, _, _ in items)

    def amount(units: int) -> Amount:
        return Amount.from_minor(units, "EUR")

    statement_entries = tuple(
        StatementEntry(
            index=i, amount=amount(units), credit_debit="CRDT" if credit else "DBIT", status="BOOK",
            booking_date=at.date(), booked_at=at,
            account_servicer_ref=shown.account_servicer_ref or f"B{i:09d}",
            bank_transaction_code="PMNT/RCDT/ESCT" if credit else "PMNT/ICDT/ESCT",
            details=(TransactionDetails(
                amount=amount(units), message_id=shown.message_id, end_to_end_id=shown.end_to_end_id,
                transaction_id=shown.transaction_id, uetr=shown.uetr,
                account_servicer_ref=shown.account_servicer_ref,
                creditor=Party(wallet, AccountId(other=account_of[wallet])) if credit else None,
                debtor=None if credit else Party(wallet, AccountId(other=account_of[wallet]))),))
        for i, (at, credit, units, shown, wallet) in enumerate(items))
    statement = Statement(
        "BENCH-STMT-1", AccountId(iban=OMNIBUS_ACCOUNT), created_at=DAY + timedelta(days=1), currency="EUR",
        from_time=DAY, to_time=DAY + timedelta(seconds=86399),
        balances=(Balance("OPBD", amount(opening), "CRDT", DAY.date()),
                  Balance("CLBD", amount(closing), "CRDT", DAY.date())),
        entries=statement_entries)
    return journal, statement, accounts, opening, closing


def reconcile(journal, statement, accounts, opening: int, closing: int) -> ReconciliationReport:
    account = ReconciledAccount(OMNIBUS, OMNIBUS_ACCOUNT, "EUR")
    start, end = statement_period(statement)
    totals = statement_totals(statement, "EUR")
    plan = plan_statement(statement, account, supply_movements(journal), accounts.get)
    result = conclude("BENCH", statement, totals, plan, dry_run(plan.entries), start=start, end=end,
                      ledger_opening=opening, ledger_closing=closing)
    return ReconciliationReport((result,), generated_at=DAY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    started = time.perf_counter()
    journal, statement, accounts, opening, closing = build(args.entries, args.postings)
    built = time.perf_counter() - started
    print(f"reconcile: {len(statement.entries):,} entries against {len(journal):,} postings "
          f"({sum(1 for p in journal if p.counterparty == ISSUANCE):,} mints and burns); "
          f"{platform.machine()}, Python {platform.python_version()}")
    print(f"  built in memory in {built:.1f} s; peak RSS {rss_mib():,.0f} MiB")

    message = StatementMessage("camt.053.001.08", "BENCH-MSG-1", DAY + timedelta(days=1), (statement,))
    xml = write_statement_message(message, "camt.053.001.08")
    reader = MessageReader(max_bytes=len(xml) + 1)
    gc.collect()
    started = time.perf_counter()
    read = reader.read(xml)
    read_s = time.perf_counter() - started
    assert read.valid, read.findings[:3]
    statement = read.payload.statements[0]  # reconcile what was read, as the pipeline does
    del read
    print(f"  read  (safe parse + XSD + domain), {len(xml) / 2**20:,.0f} MiB camt.053.001.08: "
          f"{read_s:6.1f} s; peak RSS {rss_mib():,.0f} MiB")
    del xml

    times = []
    for _ in range(args.rounds):
        gc.collect()
        started = time.perf_counter()
        report = reconcile(journal, statement, accounts, opening, closing)
        times.append(time.perf_counter() - started)
    summary = report_to_dict(report)["summary"]
    assert report.clean, summary
    print(f"  reconcile (movements, match, classify, backing): median {statistics.median(times):6.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}); peak RSS {rss_mib():,.0f} MiB")
    print(f"    entries {summary['entries']}, breaks {summary['breaks'] or 'none'}")
    started = time.perf_counter()
    body = json.dumps(report_to_dict(report), separators=(",", ":")).encode()
    print(f"  report JSON ({len(body) / 2**20:,.0f} MiB): {time.perf_counter() - started:6.1f} s; "
          f"peak RSS {rss_mib():,.0f} MiB")
    del body, report

    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    reconcile(journal, statement, accounts, opening, closing)
    traced_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  reconcile under tracemalloc: peak Python allocations {peak / 2**20:,.0f} MiB "
          f"({traced_s:.1f} s with tracing)")
    if args.json:
        args.json.write_text(json.dumps({
            "entries": args.entries, "postings": args.postings, "read_s": read_s,
            "reconcile_s": {"median": statistics.median(times), "min": min(times),
                            "max": max(times), "runs": times},
            "peak_rss_mib": rss_mib(), "peak_python_allocations_mib": peak / 2**20}))


if __name__ == "__main__":
    main()
