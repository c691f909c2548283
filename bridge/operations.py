"""Token operations: what a payment does on the ledger. Amounts are integer minor units."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

MINT, TRANSFER, BURN = "mint", "transfer", "burn"


@dataclass(frozen=True, slots=True)
class PaymentRefs:
    """The references a payment carries, kept with its operation for statements and reconciliation."""

    message_id: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    uetr: str | None = None
    instruction_id: str | None = None
    account_servicer_ref: str | None = None


@dataclass(frozen=True, slots=True)
class TokenOperation:
    """A mint (to `credit_wallet`), transfer (`debit_wallet` -> `credit_wallet`) or burn (from
    `debit_wallet`), identified by its idempotency key."""

    key: str
    kind: str  # mint, transfer or burn
    currency: str
    amount: int  # minor units, > 0
    debit_wallet: str | None = None
    credit_wallet: str | None = None
    refs: PaymentRefs = PaymentRefs()

    @property
    def fingerprint(self) -> str:
        """What must match for a replay with the same key to be the same operation (else AM05)."""
        content = "|".join((self.kind, self.currency, str(self.amount), self.debit_wallet or "",
                            self.credit_wallet or ""))
        return hashlib.sha256(content.encode()).hexdigest()[:32]

    @property
    def key_bytes32(self) -> bytes:
        """The key as a 32-byte payment reference (the on-chain form)."""
        return hashlib.sha256(self.key.encode()).digest()


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a transaction produces no operation: an ISO reason code and a sentence for people."""

    reason: str
    info: str
