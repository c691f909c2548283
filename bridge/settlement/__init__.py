"""Settlement that finishes after the answer: the changes a ledger reports, and the follow-up
pacs.002s that tell the original sender."""
