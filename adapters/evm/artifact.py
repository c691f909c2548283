"""The compiled contracts, shipped as package data (see compile.js): the deposit token, and the
payment-versus-payment settlement."""
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


def deposit_token() -> Artifact:
    """The committed deposit-token artifact; refuses one not compiled from the shipped source."""
    return _artifact(ARTIFACT, SOURCE)


def pvp_settlement() -> Artifact:
    """The committed PvP settlement artifact (PvpSettlement.sol)."""
    return _artifact("PvpSettlement.json", "PvpSettlement.sol")


@lru_cache(maxsize=2)
def _artifact(artifact: str, source_name: str) -> Artifact:
    package = files("adapters.evm")
    data = json.loads(package.joinpath(artifact).read_text(encoding="utf-8"))
    source = package.joinpath(source_name).read_text(encoding="utf-8")
    if hashlib.sha256(source.encode()).hexdigest() != data["sourceSha256"]:
        raise RuntimeError(f"{artifact} was not compiled from this {source_name}: run "
                           "`npm run compile` in adapters/evm")
    return Artifact(data["abi"], data["bytecode"], data["compiler"]["version"],
                    data["compiler"]["evmVersion"], data["sourceSha256"])
