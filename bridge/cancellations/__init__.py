"""camt.056 cancellation requests: finding the original, cancelling it where it is not final yet,
and the camt.029 resolution that answers."""
