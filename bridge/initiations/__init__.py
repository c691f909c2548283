"""pain.001 from a corporate customer's channel: payments from its tokenized accounts, answered
with a pain.002; a payment to a creditor elsewhere leaves as an outgoing pacs.008."""
