"""The EVM ledger adapter: a deposit-token contract per currency, driven over JSON-RPC.

- `DepositToken.sol`, `compile.js`, `DepositToken.json`: the contract, its pinned offline
  compilation (npm solc) and the committed artifact;
- `chain.py`: web3 calls (sign, send, read events); `errors.py`: node errors as verdicts;
- `ledger.py`: the Ledger port and the `tokenbridge.ledgers: evm` plugin;
- `settlement/`: planned -> submitted -> confirmed/failed, pipelined, resumable;
- `devchain.py`: local chains (eth-tester, an anvil node) for tests and benchmarks.
"""
