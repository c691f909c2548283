"""The compiled deposit-token contract, shipped as package data (see compile.js)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

ARTIFACT = "DepositToken.json"
SOURCE = "DepositToken.sol"


@dataclass(frozen=True, slots=True)
class Artifact:
    abi: list
    bytecode: str
    compiler_version: str
    evm_version: str
    source_sha256: str


@lru_cache(maxsize=1)
def deposit_token() -> Artifact:
    """The committed artifact; refuses one that was not compiled from the shipped source."""
    package = files("adapters.evm")
    data = json.loads(package.joinpath(ARTIFACT).read_text(encoding="utf-8"))
    source = package.joinpath(SOURCE).read_text(encoding="utf-8")
    if hashlib.sha256(source.encode()).hexdigest() != data["sourceSha256"]:
        raise RuntimeError(f"{ARTIFACT} was not compiled from this {SOURCE}: run "
                           "`npm run compile` in adapters/evm")
    return Artifact(data["abi"], data["bytecode"], data["compiler"]["version"],
                    data["compiler"]["evmVersion"], data["sourceSha256"])
