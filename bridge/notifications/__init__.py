"""camt.054 debit/credit notifications: each operation the ledger settles (final, ACSC) is told
to the customers whose tokenized accounts it touched, one message per account, for a ledger
that never closes a day. Every operation is seen in one place, whichever use case applied it:

    ledger.py   the unit of work's ledger, noting each operation settled through it (the bus
                wraps it around every message's handling; nothing in a handler)
    notices.py  settled operations -> one camt.054 per account, entries with the payment's
                references
"""
