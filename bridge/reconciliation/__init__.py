"""Reconciliation of camt.053 statements with the token ledger, one use case in one package.

    entries.py          a statement as reconciliation sees it: period, totals, items
    statement_mints.py  one payment, one mint: keys and payment references of statement mints
                        and reversals, the ledger's own reference, the claims both roads make
    matching.py         statement items to ledger movements, by reference then by amount
    plan.py             pure: statement + movements -> plan; conclude (breaks, backing)
    report.py           the report's JSON form (INTERFACE.md)
    service.py          in a unit of work: plan, apply the statement's mints and reversals, conclude
"""
