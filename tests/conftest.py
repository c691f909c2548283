"""Shared fixtures: the public corpus (read in place, skipped when absent) and the reader."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/builders.py

CORPUS_ROOT = Path(os.environ.get("TOKENBRIDGE_CORPUS",
                                  Path(__file__).resolve().parents[2] / "shared" / "iso20022"))


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    if not (CORPUS_ROOT / "corpus").is_dir():
        pytest.skip(f"public ISO 20022 corpus not found at {CORPUS_ROOT}/corpus "
                    "(set TOKENBRIDGE_CORPUS to its parent folder)")
    return CORPUS_ROOT


@pytest.fixture(scope="session")
def reader():
    from bridge.iso.reader import MessageReader
    return MessageReader()
