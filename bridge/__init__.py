"""The bridge's pure core: ISO 20022 reading and writing, the payments domain, translation to
token operations, reconciliation, and the ports the adapters implement.

Nothing in this package imports pika, SQLAlchemy or web3.
"""
