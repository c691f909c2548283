"""Reconciliation of camt.053 statements with the token ledger, one use case in one package.

    handler.py          the camt.053 handler: reconcile, answer with the report (JSON)
    service.py          in a unit of work: plan, apply the statement's mints and reversals, conclude
    plan.py             pure, step 1: statement + the ledger's movements -> every item's outcome
    conclusion.py       pure, step 3: every operation classified, the breaks, the backing
    outcomes.py         what it finds: entry statuses, break categories (enums), outcomes
    entries.py          a statement as reconciliation sees it: period, totals, items
    matching.py         statement items to ledger movements, by reference then by amount
    statement_mints.py  one payment, one mint: keys and payment references of statement mints
                        and reversals, the ledger's own reference, the claims both roads make
    report.py           the report's JSON form (INTERFACE.md)
"""
