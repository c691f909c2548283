"""Two OS processes replay overlapping sets of pacs.008 files through the full pipeline into one
database at the same time (a SQLite file, and the real PostgreSQL).

The message set is order-independent: the wallets are funded first in a serial phase, then the
concurrent messages are small transfers both ways, mints and burns that no order can overdraw.
So, whatever the interleaving, the end state must equal a serial run of the same files, every
message has exactly one inbox record and one first answer, and no idempotency key is applied
twice (also when the same payment comes in two different messages, one per process).
"""
from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from builders import Tx, pacs008
from sqlalchemy import func, select

from adapters.bootstrap import build_bus, open_store
from adapters.config import Settings
from adapters.sql import audit
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.tables import inbox, operations, outbox, postings
from bridge.accounts import parse_registry_rows

pytestmark = pytest.mark.slow  # replay processes racing on one store

ALICE, BRUNO = "DE82500199000417283905", "DE17500199000602517730"
FATIMA, GEORGE = "FR7630004008280001058392658", "GB52BARC20325373491826"
WALLET = {ALICE: "w-alice", BRUNO: "w-bruno"}
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

WORKER = r"""
import json, sys, time
from pathlib import Path
from adapters.bootstrap import build_bus, open_store
from adapters.config import Settings

url, ready, go, out, *files = sys.argv[1:]
settings = Settings(database_url=url)
pipeline = build_bus(settings, open_store(settings))
raws = [Path(f).read_bytes() for f in files]
pipeline.reader.read(raws[0])  # warm the schema cache before the start signal
Path(ready).touch()
deadline = time.monotonic() + 60
while not Path(go).exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
started = time.time()
results = []
for name, raw in zip(files, raws):
    o = pipeline.handle(raw)
    results.append(dict(file=Path(name).name, digest=o.digest, verdict=o.verdict,
                        seen_before=o.seen_before, reply=o.reply.message_id if o.reply else None,
                        txs=[dict(key=t.operation.key if t.operation else None, status=t.status,
                                  result=t.result, reason=t.reason) for t in o.transactions]))
Path(out).write_text(json.dumps(dict(started=started, ended=time.time(), results=results)))
"""


# -- the messages ----------------------------------------------------------------------------

def euros(rng: random.Random) -> str:
    return f"{rng.randint(100, 999) / 100:.2f}"  # 1.00 .. 9.99


def write_messages(folder: Path) -> tuple[list[Path], list[Path], list[Path], list[Path]]:
    """Funding (serial), core (shared), and the two processes' file lists."""
    rng = random.Random(20261124)
    folder.mkdir()
    counter = iter(range(1000))

    def write(label: str, txs: list[Tx]) -> Path:
        path = folder / f"{next(counter):03d}-{label}.xml"
        path.write_text(pacs008(txs), encoding="utf-8")
        return path

    funding = [write("fund", [Tx(amount="5000.00", debtor_iban=FATIMA, creditor_iban=wallet)])
               for wallet in (ALICE, BRUNO, ALICE, BRUNO)]
    core: list[Path] = []
    for _ in range(20):
        core.append(write("a2b", [Tx(amount=euros(rng), debtor_iban=ALICE, creditor_iban=BRUNO)]))
        core.append(write("b2a", [Tx(amount=euros(rng), debtor_iban=BRUNO, creditor_iban=ALICE)]))
    for wallet in (ALICE, BRUNO, ALICE):
        core.append(write("mint", [Tx(amount=euros(rng), debtor_iban=FATIMA, creditor_iban=wallet)]))
        core.append(write("burn", [Tx(amount=euros(rng), debtor_iban=wallet, creditor_iban=GEORGE)]))
    for _ in range(4):  # batches: both directions in one message
        core.append(write("batch", [Tx(amount=euros(rng), debtor_iban=ALICE, creditor_iban=BRUNO),
                                    Tx(amount=euros(rng), debtor_iban=BRUNO, creditor_iban=ALICE)]))
    rng.shuffle(core)
    # The same payment (same UETR and content) in two different messages, one per process.
    originals, resends = [], []
    for index in range(5):
        debtor, creditor = (ALICE, BRUNO) if index % 2 else (BRUNO, ALICE)
        tx = Tx(amount=euros(rng), debtor_iban=debtor, creditor_iban=creditor)
        originals.append(write("original", [tx]))
        resends.append(write("resend", [tx]))
    # Both start with the colliding pairs, then run through the same 20 files from opposite
    # ends (so each wins some of them), then each does files the other never sees.
    first = originals + core[15:35] + core[:15]
    second = resends[::-1] + core[15:35][::-1] + core[35:]
    assert len(set(first) | set(second)) == 60
    return funding, core + originals + resends, first, second


def tx_effects(path: Path) -> list[tuple[str | None, str | None, Decimal]]:
    """(debit wallet, credit wallet, amount) of each transaction in a file, from what we wrote."""
    from lxml import etree
    root = etree.parse(str(path)).getroot()
    ns = {"d": etree.QName(root).namespace}
    effects = []
    for tx in root.iterfind(".//d:CdtTrfTxInf", ns):
        debtor = tx.findtext("d:DbtrAcct/d:Id/d:IBAN", namespaces=ns)
        creditor = tx.findtext("d:CdtrAcct/d:Id/d:IBAN", namespaces=ns)
        effects.append((WALLET.get(debtor), WALLET.get(creditor),
                        Decimal(tx.findtext("d:IntrBkSttlmAmt", namespaces=ns))))
    return effects


# -- helpers ---------------------------------------------------------------------------------

def import_registry(url: str) -> None:
    store = open_store(Settings(database_url=url), require_schema=False)
    migrate(store.engine)
    with (SAMPLES / "accounts.csv").open(newline="") as handle:
        rows = parse_registry_rows(csv.DictReader(handle))
    with store() as uow:
        uow.accounts.upsert(rows)
        uow.commit()
    store.engine.dispose()


def serial_run(url: str, files: list[Path]) -> list:
    settings = Settings(database_url=url)
    store = open_store(settings)
    pipeline = build_bus(settings, store)
    outcomes = [pipeline.handle(path.read_bytes()) for path in files]
    store.engine.dispose()
    return outcomes


def ledger_state(url: str) -> dict:
    store = open_store(Settings(database_url=url))
    with store() as uow:
        ledger = uow.ledger
        state = {
            "balances": {(b.wallet, b.currency): b.balance for b in ledger.balances()},
            "supply": ledger.supply(),
            "journal": Counter((p.operation_key, p.holder, p.counterparty, p.amount)
                               for p in ledger.journal())}
    store.engine.dispose()
    return state


def run_two_processes(url: str, first: list[Path], second: list[Path], work: Path) -> list[dict]:
    go = work / "go"
    runs = []
    for n, files in enumerate((first, second)):
        log = (work / f"worker-{n}.log").open("w")
        args = [sys.executable, "-c", WORKER, url, str(work / f"ready-{n}"), str(go),
                str(work / f"out-{n}.json"), *map(str, files)]
        runs.append((subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)), log))
    try:
        deadline = time.monotonic() + 60
        while not all((work / f"ready-{n}").exists() for n in range(2)):
            assert time.monotonic() < deadline, "workers never got ready"
            assert all(p.poll() is None for p, _ in runs), _logs(work)
            time.sleep(0.01)
        go.touch()  # both start at once
        for process, log in runs:
            assert process.wait(timeout=120) == 0, _logs(work)
            log.close()
    finally:
        for process, _ in runs:
            if process.poll() is None:
                process.kill()
    return [json.loads((work / f"out-{n}.json").read_text()) for n in range(2)]


def _logs(work: Path) -> str:
    return "\n".join(f"--- worker {n}:\n" + (work / f"worker-{n}.log").read_text()[-3000:]
                     for n in range(2) if (work / f"worker-{n}.log").exists())


# -- the test --------------------------------------------------------------------------------

def check_concurrent_replay(url: str, tmp_path: Path) -> None:
    funding, files, first, second = write_messages(tmp_path / "messages")
    import_registry(url)
    funded = serial_run(url, funding)
    assert [o.verdict for o in funded] == ["accepted"] * len(funding)

    first_run, second_run = run_two_processes(url, first, second, tmp_path)
    assert max(first_run["started"], second_run["started"]) < min(first_run["ended"], second_run["ended"])
    first_out, second_out = first_run["results"], second_run["results"]

    # Every handled message was accepted; each distinct message answered first exactly once,
    # and a message seen before got the very reply recorded the first time.
    results = first_out + second_out
    assert all(r["verdict"] == "accepted" for r in results), [r for r in results if r["verdict"] != "accepted"]
    by_digest: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_digest[r["digest"]].append(r)
    assert len(by_digest) == len(files) == 60
    for handled in by_digest.values():
        assert sum(not r["seen_before"] for r in handled) == 1, handled
        assert len({r["reply"] for r in handled}) == 1, handled

    # No key applied twice: each transaction key applied once, in whichever process.
    applied = Counter(t["key"] for r in results for t in r["txs"] if t["result"] == "applied")
    replayed = Counter(t["key"] for r in results for t in r["txs"] if t["result"] == "replayed")
    assert all(t["status"] == "ACSC" for r in results for t in r["txs"])
    assert max(applied.values()) == 1
    funding_keys = {t.operation.key for o in funded for t in o.transactions}
    expected_keys = len([e for f in files for e in tx_effects(f)]) - 5  # the resends share keys
    assert len(applied) == expected_keys and not funding_keys & set(applied)
    assert sorted(replayed.values()) == [1] * 5 and not set(replayed) - set(applied)  # one of each pair

    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            keys = connection.execute(select(operations.c.key)).scalars().all()
            assert sorted(keys) == sorted(set(applied) | funding_keys)
            per_operation = connection.execute(
                select(func.count()).select_from(postings).group_by(postings.c.operation_seq)).scalars().all()
            assert per_operation == [2] * len(keys)
            inbox_rows = connection.execute(select(inbox.c.digest, inbox.c.verdict, inbox.c.reply_id)).all()
            assert len(inbox_rows) == 60 + len(funding)
            recorded = {digest: (verdict, reply) for digest, verdict, reply in inbox_rows}
            for digest, handled in by_digest.items():
                assert recorded[digest] == ("accepted", handled[0]["reply"])
            queued = connection.execute(select(outbox.c.message_type, outbox.c.body)).all()
            assert len([t for t, _ in queued if not t.startswith("camt.054")]) == len(recorded)
            # every wallet's leg of every operation notified once (an entry of a camt.054), never twice
            legs = connection.execute(select(func.count()).select_from(postings).where(
                ~postings.c.holder.startswith("issuance:"))).scalar_one()
            assert sum(body.count(b"<Ntry>") for t, body in queued if t.startswith("camt.054")) == legs
        with engine.connect() as connection:  # two writers chained one after the other, money included
            assert audit.verify(connection)[1] == []
    finally:
        engine.dispose()

    # Conservation, and the same end state as one serial run of the same files.
    state = ledger_state(url)
    assert all(v >= 0 for v in state["balances"].values())
    assert state["supply"] == {"EUR": sum(state["balances"].values())}
    model: dict[str, Decimal] = defaultdict(Decimal)
    for path in funding + [f for f in files if "resend" not in f.name]:
        for debit, credit, amount in tx_effects(path):
            if debit:
                model[debit] -= amount
            if credit:
                model[credit] += amount
    assert state["balances"] == {(w, "EUR"): int(v * 100) for w, v in model.items()}

    reference = f"sqlite:///{tmp_path / 'serial.db'}"
    import_registry(reference)
    serial = serial_run(reference, funding + sorted(files))
    assert all(o.verdict == "accepted" for o in serial)
    expected = ledger_state(reference)
    assert state == expected


def test_two_processes_replaying_at_once_on_sqlite(sqlite_url, tmp_path) -> None:
    check_concurrent_replay(sqlite_url, tmp_path)


def test_two_processes_replaying_at_once_on_postgresql(postgres_url, tmp_path) -> None:
    check_concurrent_replay(postgres_url, tmp_path)
