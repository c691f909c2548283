"""The store's tables (SQLAlchemy Core). Created and migrated only by Alembic (migrations/)."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text)

metadata = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
Sequence = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts", metadata,
    Column("account", String(70), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("wallet", String(100)),
    Column("status", String(10), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("scheme", String(41)),  # an Othr/Id's scheme, Cd:<code> or Prtry:<name> (0005)
    Column("issuer", String(35)),  # an Othr/Id's issuer (0005)
)

operations = Table(
    "operations", metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False, unique=True),  # the idempotency key
    Column("kind", String(10), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("debit_wallet", String(100)),
    Column("credit_wallet", String(100)),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(4), nullable=False),
    Column("message_id", String(35)),
    Column("end_to_end_id", String(35)),
    Column("transaction_id", String(35)),
    Column("uetr", String(36)),
    Column("instruction_id", String(35)),
    Column("account_servicer_ref", String(35)),
    Column("applied_at", DateTime, nullable=False),
)

postings = Table(
    "postings", metadata,
    Column("id", Sequence, primary_key=True, autoincrement=True),
    Column("operation_seq", Sequence, ForeignKey("operations.seq"), nullable=False),
    Column("holder", String(100), nullable=False),  # a wallet, or issuance:<CCY>
    Column("counterparty", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # signed minor units, credit positive
    Column("posted_at", DateTime, nullable=False),
    Index("ix_postings_holder_time", "holder", "posted_at"),
    Index("ix_postings_currency_time", "currency", "posted_at"),
)

balances = Table(
    "balances", metadata,
    Column("wallet", String(100), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("balance", BigInteger, nullable=False),
)

# The token supply per currency (migration 0005): minus the issuance account's postings, kept so
# that a mint can be refused before the supply leaves the ledger's range (bridge.money).
supply = Table(
    "supply", metadata,
    Column("currency", String(3), primary_key=True),
    Column("supply", BigInteger, nullable=False),
)

inbox = Table(
    "inbox", metadata,
    Column("digest", String(64), primary_key=True),  # sha256 of the raw bytes
    Column("received_at", DateTime, nullable=False),
    Column("message_type", String(20)),
    Column("message_id", String(35)),
    Column("business_message_id", String(35)),
    Column("sender", String(11)),
    Column("verdict", String(10), nullable=False),
    Column("summary", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("reply_id", String(40)),
    Index("ix_inbox_message_id", "message_id"),
)

outbox = Table(
    "outbox", metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("correlation_id", String(35)),
    Column("message_type", String(40), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("published_at", DateTime),
    Index("ix_outbox_unpublished", "published_at", "seq"),
    Index("ix_outbox_correlation", "correlation_id"),  # migration 0009: what was sent about a payment
)

# Audit chain (migration 0003): one link per inbox record and ledger operation.
audit_links = Table(
    "audit_links", metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("entity", String(10), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("length", BigInteger, nullable=False),
)

# One payment, one mint (migration 0005): each payment reference a mint claimed, first claim
# kept (bridge.reconciliation.statement_mints). Shared by the SQL and the EVM ledger.
payment_refs = Table(
    "payment_refs", metadata,
    Column("reference", String(200), primary_key=True),
    Column("operation_key", String(100), nullable=False),
    Column("road", String(10), nullable=False),
    Index("ix_payment_refs_operation_key", "operation_key"),
)

# Payment returns (migration 0011): what came back of each original operation, kept per original
# so that a conditional update under its row lock keeps the returns of one original within it
# (adapters.sql.returns), and each return (chained in the audit trail as `return`).
payment_returns = Table(
    "payment_returns", metadata,
    Column("original_key", String(100), primary_key=True),
    Column("returned", BigInteger, nullable=False),  # minor units returned so far
)

return_entries = Table(
    "return_entries", metadata,
    Column("return_key", String(100), primary_key=True),  # the reversal's idempotency key
    Column("original_key", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(35), nullable=False),
    Column("origin", String(10), nullable=False),  # pacs.004 or operator
    Column("message_id", String(35)),
    Column("return_id", String(35)),
    Column("returned_at", DateTime, nullable=False),
    Index("ix_return_entries_original_key", "original_key"),
)

# API tokens of `tokenbridge serve` (migration 0012): only the SHA-256 of each secret is kept.
api_tokens = Table(
    "api_tokens", metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(10), nullable=False),  # viewer or operator
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

# What operators did through the API (migration 0012): each row a link of the audit chain.
operator_actions = Table(
    "operator_actions", metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("acted_at", DateTime, nullable=False),
    Column("token_name", String(64), nullable=False),
    Column("action", String(40), nullable=False),  # redrive, ...
    Column("target", String(200), nullable=False),  # what it acted on (dead letter ids, ...)
    Column("outcome", String(20), nullable=False),  # done, not_found, ...
    Column("detail", Text, nullable=False),
)
