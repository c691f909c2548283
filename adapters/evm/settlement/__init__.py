"""Settlement: moving committed operations onto the chain and following them to finality.

`Settler.settle()` (settler.py) is called by the worker after each committed batch and on a
timer. One call:

1. **submit** (broadcast.py, nonces.py): planned operations get nonces (managed in the store,
   not by the node), are signed and recorded as submitted (tx hash, nonce, raw bytes) in one
   short transaction, and only then broadcast, all of them, without waiting for receipts
   (pipelining; at most `max_in_flight` unconfirmed at once);
2. **track** (scanning.py, verdicts.py): `Settled` events since the last scan tell which
   references the chain applied; a submitted transaction whose nonce the chain has used without
   such an event is looked up (receipt: why it reverted; no receipt: its nonce was taken, so it
   is planned again); one the node has lost is re-broadcast byte for byte; never blindly re-sent;
3. **confirm** (confirmation.py): an applied operation `confirmations` blocks deep (its block
   still canonical) becomes confirmed (ACSC); a rejected one failed (RJCT, available balances
   restored). A nonce nothing will use is filled (nonces.py).

Each status change is returned once, even with several workers settling at the same time, and
handed to `on_changes` inside the transaction that records it: the worker adds its follow-up
pacs.002 to the outbox there, so a crash can neither lose the follow-up nor send it twice.
A restarted worker needs nothing else: everything it resumes from is in the store. The
statements are in queries.py.
"""
from adapters.evm.settlement.settler import Settler

__all__ = ["Settler"]
