"""The SQL store and ledger (SQLAlchemy 2): SQLite file by default, PostgreSQL in production.

Registry, ledger, inbox and outbox share one connection per unit of work, so a message's
postings and its reply commit in the same database transaction.
"""
