"""Treasury sweeps (TOKENBRIDGE_SWEEPS): a customer's member wallets kept at their targets
against a header wallet, daily or on a threshold, once per period (bridge.sweeps.planning)."""
