"""Reconciliation reports for people: a terminal table (rich) and a self-contained HTML page.

Both draw from the report's JSON form (bridge.reconciliation.report), the one the core produces
and the worker publishes, so any report renders the same way wherever it was made. Presentation
lives here, at the edge: the core's contract is the data, and how people see it can change
without touching the core.
"""
