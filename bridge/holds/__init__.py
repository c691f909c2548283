"""Holds: tokens reserved in a wallet for a payment that settles later.

A value-dated payment (a settlement date in the future) and a conditional one (a SHA-256
hashlock with an expiry) are accepted pending (ACSP) with a hold on the debtor's wallet: the
held amount stays in the balance but no other debit can take it (available = balance - held).
Each hold has the payment's key, an expiry, and ends once: executed (the payment applied,
ACSC follow-up) or voided (nothing applied, RJCT follow-up).
"""
