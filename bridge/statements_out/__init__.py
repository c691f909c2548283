"""Statements out: camt.053 statements the bridge writes from the ledger journal (a wallet's,
or the token supply of a currency), for the bank's systems to reconcile the token side.

    journal.py   the statement of a subject for a period, from its postings (pure)
"""
