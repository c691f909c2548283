"""Statements out: camt.053 statements the bridge writes from the ledger journal (a wallet's,
or the token supply of a currency), for the bank's systems to reconcile the token side. Its own
use case, not reconciliation's: it reads the ledger and writes ISO 20022, applies nothing and
matches nothing (reconciliation reads the references it writes back: `ledger_reference`).

    journal.py   the statement of a subject for a period, from its postings (pure)
    service.py   in a unit of work: whose statement (registry), the journal and figures
"""
