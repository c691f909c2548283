"""Hold and release throughput, no broker: single-transaction conditional pacs.008.001.08
messages/s through the full pipeline (read, validate, translate, hold on the debtor under its
balance row's lock, pacs.002 ACSP, inbox and outbox, one commit per message), then releases/s
(find the hold, check the fulfilment, execute it, follow-up pacs.002 re-reading the original
from the inbox, one commit per release), next to plain transfers timed in the same run on the
same store; SQLite (file) and PostgreSQL (127.0.0.1:5432).

    .venv/bin/python bench/holds.py [--messages 1000] [--postgres URL] [--sqlite-only]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time

from common import machine
from replay import fresh_postgres, seeded_store  # also puts tests/ on the path (builders)

from adapters.logs import configure_logging
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.holds import service
from bridge.holds.terms import HoldState
from bridge.iso.reader import MessageReader
from bridge.settlement.follow_ups import SettlementFollowUps
from builders import Tx, condition, pacs008

ALICE, BRUNO, FATIMA = "DE82500199000417283905", "DE17500199000602517730", "FR7630004008280001058392658"
SECRET = b"bench fulfilment"
LOCK = hashlib.sha256(SECRET).hexdigest()


def rate(count: int, started: float) -> float:
    return round(count / (time.perf_counter() - started), 1)


def run(url: str, count: int) -> dict[str, float]:
    store = seeded_store(url)
    config = BridgeConfig()
    bus = MessageBus(MessageReader(), store, config, is_transient=store.is_transient)
    follow_ups = SettlementFollowUps(MessageReader(), config, store.clock)
    bus.handle(pacs008([Tx(amount="100000.00", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode())
    plain = [pacs008([Tx(amount="1.00", debtor_iban=ALICE, creditor_iban=BRUNO)]).encode() for _ in range(count)]
    held = [pacs008([Tx(amount="1.00", debtor_iban=ALICE, creditor_iban=BRUNO,
                        supplementary=condition(LOCK, "2099-01-01T00:00:00Z"))]).encode() for _ in range(count)]
    started = time.perf_counter()
    for body in plain:
        bus.handle(body)
    transfers = rate(count, started)
    started = time.perf_counter()
    for body in held:
        bus.handle(body)
    holds = rate(count, started)
    with store() as uow:
        waiting = uow.ledger.holds(HoldState.HELD)
    started = time.perf_counter()
    for one in waiting:
        with store() as uow:
            assert service.release(uow, one, now=store.clock(), follow_ups=follow_ups,
                                   fulfilment=SECRET.hex()).done
            uow.commit()
    releases = rate(len(waiting), started)
    store.engine.dispose()
    return {"transfers_per_s": transfers, "holds_per_s": holds, "releases_per_s": releases}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    configure_logging("error")
    results = {"machine": machine(), "messages": args.messages}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{tmp}/bench.db", args.messages)
    if not args.sqlite_only:
        url, drop = fresh_postgres(args.postgres)
        try:
            results["postgresql"] = run(url, args.messages)
        finally:
            drop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
