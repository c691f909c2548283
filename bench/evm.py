"""EVM ledger throughput against a real node (anvil on 127.0.0.1): operations/s from `apply`
to ACSC, pipelined (the settler's nonces, many transactions in flight) next to one receipt at a
time (apply, submit, wait for the receipt and the confirmation, then the next).

Each operation is applied in its own unit of work on a SQLite store, as the worker does per
message. Mints, transfers and burns in a 2:1:1 mix that never runs short. Two ways the node
mines: at once (anvil's automine, one block per transaction) and every second
(`--block-time 1`, like a real chain with one-second blocks).

    .venv/bin/python bench/evm.py [--operations 1000] [--sequential 100] [--block-time-ops 2000]
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account

from adapters.config import Settings
from adapters.evm.devchain import AnvilNode
from adapters.evm.ledger import EvmLedgerPlugin
from adapters.logs import configure_logging
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.store import SqlStore
from bridge.operations import BURN, MINT, TRANSFER, TokenOperation

MAX_SECONDS = 600
"""No run settles for longer than this: the benchmark always ends."""


def operations(count: int, tag: str) -> list[TokenOperation]:
    alice, bruno = Account.create().address, Account.create().address
    out = []
    for i in range(count):
        key = f"bench-{tag}-{i}"
        kind = (MINT, MINT, TRANSFER, BURN)[i % 4]
        if kind == MINT:
            out.append(TokenOperation(key, MINT, "EUR", 1000, credit_wallet=alice))
        elif kind == TRANSFER:
            out.append(TokenOperation(key, TRANSFER, "EUR", 700, debit_wallet=alice, credit_wallet=bruno))
        else:
            out.append(TokenOperation(key, BURN, "EUR", 300, debit_wallet=bruno))
    return out


class Bench:
    def __init__(self, node: AnvilNode, workdir: Path, name: str, max_in_flight: int) -> None:
        issuer = Account.create()
        node.fund(issuer.address, 10**24)
        settings = Settings(ledger="evm", evm_key=issuer.key.hex(), evm_currencies="EUR",
                            evm_max_in_flight=max_in_flight)
        self.plugin = EvmLedgerPlugin(settings, web3=node.web3)
        self.engine = create_store_engine(f"sqlite:///{workdir / f'{name}.db'}")
        migrate(self.engine)
        self.store = SqlStore(self.engine, self.plugin)
        self.plugin.initialise(self.store)
        self.settler = self.plugin.settler(self.store)

    def apply(self, op: TokenOperation) -> None:
        with self.store() as uow:
            outcome = uow.ledger.apply(op)
            uow.commit()
        assert outcome.status == "ACSP", outcome

    def settle_all(self, expected: int, deadline: float) -> int:
        confirmed = 0
        while confirmed < expected and time.monotonic() < deadline:
            confirmed += sum(c.new_status == "ACSC" for c in self.settler.settle())
            if confirmed < expected:
                time.sleep(0.01)
        return confirmed


def pipelined(node: AnvilNode, workdir: Path, count: int, name: str) -> float:
    """All applied (each its own unit of work), then settled with many in flight."""
    bench = Bench(node, workdir, name, max_in_flight=500)
    ops = operations(count, name)
    start = time.perf_counter()
    for op in ops:
        bench.apply(op)
    done = bench.settle_all(count, time.monotonic() + MAX_SECONDS)
    elapsed = time.perf_counter() - start
    assert done == count, f"{done} of {count} confirmed"
    return count / elapsed


def one_at_a_time(node: AnvilNode, workdir: Path, count: int, name: str) -> float:
    """Apply, submit, wait for its receipt and confirmation; only then the next operation."""
    bench = Bench(node, workdir, name, max_in_flight=1)
    ops = operations(count, name)
    deadline = time.monotonic() + MAX_SECONDS
    start = time.perf_counter()
    for op in ops:
        bench.apply(op)
        assert bench.settle_all(1, deadline) == 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1000, help="pipelined, automine")
    parser.add_argument("--sequential", type=int, default=100, help="one at a time, automine")
    parser.add_argument("--block-time-ops", type=int, default=2000, help="pipelined, 1 s blocks")
    parser.add_argument("--block-time-sequential", type=int, default=10, help="one at a time, 1 s blocks")
    args = parser.parse_args()
    configure_logging("warning")
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"anvil --prune-history, SQLite store, 1 confirmation")
    print("| node mining | submission | operations | ops/s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with AnvilNode() as node:
            rate = pipelined(node, workdir, args.operations, "auto-pipelined")
            print(f"| automine | pipelined | {args.operations} | {rate:.0f} |", flush=True)
            rate = one_at_a_time(node, workdir, args.sequential, "auto-sequential")
            print(f"| automine | one receipt at a time | {args.sequential} | {rate:.1f} |", flush=True)
        with AnvilNode("--block-time", "1") as node:
            rate = pipelined(node, workdir, args.block_time_ops, "block-pipelined")
            print(f"| 1 s blocks | pipelined | {args.block_time_ops} | {rate:.0f} |", flush=True)
            rate = one_at_a_time(node, workdir, args.block_time_sequential, "block-sequential")
            print(f"| 1 s blocks | one receipt at a time | {args.block_time_sequential} | {rate:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
