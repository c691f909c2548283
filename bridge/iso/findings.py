"""Findings: what is wrong with an input, where, under which stable rule id and ISO reason code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.codes import Reason


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in an input message.

    `transaction` is the 0-based index of the transaction it concerns, or None when it concerns
    the whole message (then every transaction of the message is rejected with `reason`).
    """

    message: str
    rule: str
    reason: str = Reason.INVALID_FILE_FORMAT  # of any XSD or XML failure
    line: int | None = None
    column: int | None = None
    path: str | None = None
    part: str = "Document"  # Document, AppHdr or the file itself
    transaction: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The error shape of `tokenbridge validate --json` (INTERFACE.md), plus reason and part."""
        return {
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "rule": self.rule,
            "reason": self.reason,
            "part": self.part,
        }

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else (self.path or self.part)
        if self.line and self.column is not None:
            where += f":{self.column}"
        return f"{where}: {self.message} [{self.rule}, {self.reason}]"
