"""Writing a camt.053 `BkToCstmrStmt` from a StatementMessage, versions .02 to .14: the
statement of the bank-to-customer reports (bridge.iso.bank_to_customer, where the version
differences are documented against the XSDs)."""
from __future__ import annotations

from lxml import etree

from bridge.iso.bank_to_customer import STATEMENT
from bridge.statements import StatementMessage

SUPPORTED_VERSIONS = STATEMENT.versions
"""camt.053 versions the bridge writes (.01 has another root and shape)."""
DEFAULT_VERSION = STATEMENT.default_version
"""The CBPR+ version, which most correspondents read."""


def statement_version(text: str) -> str:
    """`08`, `8` or `camt.053.001.08` -> `camt.053.001.08`; ValueError for a version the
    writer does not write."""
    return STATEMENT.version(text)


def write_statement_document(message: StatementMessage, version: str = DEFAULT_VERSION) -> etree._Element:
    """The camt.053 `Document` for `message` in `version`."""
    return STATEMENT.document(message, version)


def write_statement_message(message: StatementMessage, version: str = DEFAULT_VERSION) -> bytes:
    """The camt.053 to publish or save: the bare Document, UTF-8 with an XML declaration."""
    return STATEMENT.message(message, version)
