"""Payments: a pacs.008 credit transfer, from authorisation to the pacs.002 that answers it.
The path starts at `handler.py`."""
