"""ISO 20022 on the wire: safe parsing, envelopes, the schema catalogue, validation, business
rules, and readers and writers for the messages the bridge handles."""
