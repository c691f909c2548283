"""Errors of reading ISO 20022 input. Each carries the stable rule id reported to users."""
from __future__ import annotations


class MessageReadError(ValueError):
    """The input cannot be read as the ISO 20022 message it claims to be."""

    rule = "iso.read"


class UnsafeXmlError(MessageReadError):
    """Input refused before or while parsing: too big, too deep, DTDs, not UTF-8, not well-formed."""

    def __init__(self, message: str, rule: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.rule = rule
        self.line = line
        self.column = column
