"""Local chains for tests, benchmarks and trying things out: never for production.

- `TesterChain`: an in-process chain (web3 + eth-tester + py-evm), one block per transaction;
- `AnvilNode`: a real node, the anvil binary shipped by the npm package `@foundry-rs/anvil`
  (pinned in package-lock.json), on 127.0.0.1 at a free port, stopped by its PID.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from web3 import Web3

EVM_DIR = Path(__file__).resolve().parent
NODE_MODULES = EVM_DIR / "node_modules"
ETHER = 10**18


class ToolchainMissing(RuntimeError):
    """node/npm or the npm packages are not available here."""


def npm_install() -> Path:
    """The pinned npm packages (solc, anvil) installed from package-lock.json; `npm ci` when
    they are missing. Returns node_modules."""
    if (NODE_MODULES / "solc" / "package.json").exists() and (NODE_MODULES / "@foundry-rs" / "anvil").exists():
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing("npm is not installed (node and npm are needed for solc and anvil)")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=EVM_DIR,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise ToolchainMissing(f"npm ci in {EVM_DIR} failed: {done.stderr.strip()[-500:]}")
    return NODE_MODULES


def anvil_binary() -> Path:
    """The anvil executable from the npm package's platform sub-package (run directly, so that
    its PID is anvil's own and not a node wrapper's)."""
    modules = npm_install()
    for candidate in sorted((modules / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    raise ToolchainMissing("@foundry-rs/anvil has no binary for this platform "
                           f"({os.uname().sysname} {os.uname().machine})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TesterChain:
    """An in-process chain: every transaction is mined at once in its own block."""

    name = "eth-tester"
    __test__ = False  # not a pytest class, whatever its name

    def __init__(self) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider
        self.tester = EthereumTester(PyEVMBackend())
        self.web3 = Web3(EthereumTesterProvider(self.tester))

    def fund(self, address: str, wei: int = 1_000 * ETHER) -> None:
        self.web3.eth.send_transaction({"from": self.web3.eth.accounts[0], "to": address, "value": wei})

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    def set_next_timestamp(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)  # mines an empty block at that time

    def latest_timestamp(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

    def stop(self) -> None:
        pass


class AnvilNode:
    """anvil on 127.0.0.1 at a free port, with `--prune-history` unless `prune_history=False`
    (reorgs, anvil_reorg, need the older states); `stop()` ends it by PID."""

    name = "anvil"

    def __init__(self, *extra_args: str, startup_timeout_s: float = 30,
                 prune_history: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(self.port),
             *(["--prune-history"] if prune_history else []), "--silent", *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.process.pid
        self.web3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise ToolchainMissing(f"anvil exited with {self.process.returncode}: {error[-500:]}")
            try:
                _ = self.web3.eth.block_number
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise ToolchainMissing(f"anvil did not answer on {self.url} within "
                                           f"{startup_timeout_s}s") from None
                time.sleep(0.05)

    def rpc(self, method: str, *params):
        response = self.web3.provider.make_request(method, list(params))
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response.get("result")

    def fund(self, address: str, wei: int = 1_000 * ETHER) -> None:
        self.rpc("anvil_setBalance", address, hex(wei))

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def set_next_timestamp(self, timestamp: int) -> None:
        self.rpc("evm_setNextBlockTimestamp", timestamp)
        self.mine()

    def latest_timestamp(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

    def stop(self) -> None:
        """End this anvil by its PID (and nothing else), then reap it."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
