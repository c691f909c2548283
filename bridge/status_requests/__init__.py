"""pacs.028 status requests: what the sender asks about, and the pacs.002 that answers it."""
