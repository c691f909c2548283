"""How long the operations API takes to answer on a grown store: payment search (by UETR, by
wallet), a timeline, balances over time and health (with the audit verification), on SQLite or
PostgreSQL, after N payments (a 2:1:1 mix of mints, transfers and burns).

    .venv/bin/python bench/console.py [--messages 5000] [--runs 5] [--postgres URL]

In-process (FastAPI's TestClient): the figures are the API's own work, not the network's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from adapters.http.app import create_app  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from bridge.bus import MessageBus  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from common import machine  # noqa: E402
from console_support import ALICE_WALLET, bearer, console, tokens  # noqa: E402
from replay import messages, seeded_store  # noqa: E402


def measure(url: str, count: int, runs: int) -> dict[str, float]:
    store = seeded_store(url)
    bus = MessageBus(MessageReader(), store, is_transient=store.is_transient)
    bodies = messages(count)
    for start in range(0, count, 100):
        bus.handle_batch(bodies[start:start + 100])
    first = MessageReader().read(bodies[0]).payload.transactions[0].uetr
    last = MessageReader().read(bodies[-1]).payload.transactions[0].uetr
    headers = bearer(tokens(store)["viewer"])
    calls = {
        "search by UETR (first payment)": f"/api/payments?q={first}",
        "search by UETR (last payment)": f"/api/payments?q={last}",
        "search by wallet (latest 200)": f"/api/payments?q={ALICE_WALLET}",
        "timeline": f"/api/payments/{last}",
        "balances over time (EUR)": "/api/balances/history?currency=EUR",
        "health without audit": "/api/health?audit=false",
        "health with audit verify": "/api/health",
    }
    found = {}
    with TestClient(create_app(console(store))) as client:
        for name, path in calls.items():
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                answer = client.get(path, headers=headers)
                times.append(time.perf_counter() - began)
                assert answer.status_code == 200, (path, answer.text[:200])
            found[name] = round(statistics.median(times) * 1000, 1)
    store.engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    configure_logging("error")
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite:///{Path(folder) / 'console.db'}"
        figures = measure(url, args.messages, args.runs)
    print(json.dumps({"machine": machine(), "messages": args.messages, "store": url.split(":")[0],
                      "median_ms": figures}, indent=2))


if __name__ == "__main__":
    main()
