"""pacs.004 payment returns: reading them, reversing the original on the ledger, writing them."""
