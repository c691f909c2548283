"""Payment-versus-payment settlement: the one function every message family settles a payment
across currencies with (pacs.008, pacs.009, and a pain.001 whose instructed currency is not the
debtor account's).

    settle_pvp(ledger, payment, rates, tolerance_bps, now, fx_wallets) -> PvpOutcome

1. A payment applied before (its debit leg's key is recorded) is answered from what was
   recorded: REPLAYED with the legs as applied then, whatever the rate table says now (a replay
   changes nothing, and an expired rate does not refuse it); AM05 when the recorded legs are not
   this payment's (other wallets, currencies or fixed amounts).
2. Otherwise it is priced (bridge.fx.exchange.price: the rate, both amounts, banker's rounding),
   or refused with the ISO reason (AM03 no valid rate or no FX position wallet, AM09 a rate
   outside the tolerance).
3. Both legs are applied with `Ledger.apply_together`: one unit of work on the SQL ledger, one
   chain transaction through the settlement contract on EVM; a leg that cannot be applied (the
   debtor or the FX position wallet short: AM04) leaves neither applied.

Supply per currency never moves: both legs are transfers.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bridge.codes import Reason, Status
from bridge.fx.exchange import CrossCurrencyPayment, Exchange, credit_leg_key, exchange_of, price
from bridge.fx.rates import RateTable
from bridge.operations import BURN, TRANSFER, Rejection, TokenOperation
from bridge.ports import REPLAYED, Ledger, LedgerOutcome

RECORDED_RATE = "as applied"
"""The source a replay states: the rate the recorded legs imply."""

PLANNED = "planned"
"""A dry run's result: priced, nothing applied."""


@dataclass(frozen=True, slots=True)
class PvpOutcome:
    """What settling a cross-currency payment came to, and its two legs (None when it was
    refused before it could be priced)."""

    outcome: LedgerOutcome
    exchange: Exchange | None = None

    @property
    def info(self) -> str | None:
        """What a reply says of it: the reason of a refusal, else the rate and both amounts."""
        if self.outcome.rejection is not None:
            return self.outcome.rejection.info
        return self.exchange.describe() if self.exchange is not None else None


def settle_pvp(ledger: Ledger, payment: CrossCurrencyPayment, rates: RateTable, tolerance_bps: int,
               now: datetime, fx_wallets: Mapping[str, str], *, dry_run: bool = False) -> PvpOutcome:
    """Settle `payment` payment-versus-payment on `ledger`, in the caller's unit of work (see the
    module's steps). `now` decides which rates are valid; `fx_wallets` is the bank's FX position
    wallet per currency (registry kind `fx`). With `dry_run`, it is priced and nothing applied."""
    recorded = _recorded(ledger, payment)
    if recorded is not None:
        return recorded
    priced = price(payment, rates, tolerance_bps, now, fx_wallets)
    if isinstance(priced, Rejection):
        return PvpOutcome(LedgerOutcome.rejected(priced.reason, priced.info))
    if dry_run:
        return PvpOutcome(LedgerOutcome(PLANNED), priced)
    return PvpOutcome(ledger.apply_together(priced.legs), priced)


def _recorded(ledger: Ledger, payment: CrossCurrencyPayment) -> PvpOutcome | None:
    """The outcome of a payment whose debit leg is recorded already (step 1), else None."""
    debit = ledger.find(payment.key)
    if debit is None:
        return None
    credit = ledger.find(credit_leg_key(payment.key))
    if credit is None or not (_same_leg(debit.operation, payment.debit_wallet, payment.debit_currency,
                                        payment.debit_amount, debit_side=True)
                              and _same_leg(credit.operation, payment.credit_wallet,
                                            payment.credit_currency, payment.credit_amount,
                                            debit_side=False)):
        return PvpOutcome(LedgerOutcome.rejected(
            Reason.DUPLICATION, f"idempotency key {payment.key} was already used for a different payment"))
    statuses = {debit.status, credit.status}
    status = (Status.ACCEPTED_SETTLEMENT_COMPLETED if statuses == {Status.ACCEPTED_SETTLEMENT_COMPLETED}
              else Status.REJECTED if Status.REJECTED in statuses else Status.ACCEPTED_SETTLEMENT_IN_PROCESS)
    return PvpOutcome(LedgerOutcome(REPLAYED, status=status),
                      exchange_of(payment, debit.operation, credit.operation, RECORDED_RATE))


def _same_leg(leg: TokenOperation, wallet: str | None, currency: str, amount: int | None, *,
              debit_side: bool) -> bool:
    """Whether a recorded leg is this payment's: the customer's wallet on its side (none: a
    credit leg that burns), the currency, and the amount where the message fixes it."""
    return (leg.kind == (TRANSFER if wallet else BURN) and leg.currency == currency
            and (leg.debit_wallet if debit_side else leg.credit_wallet) == wallet
            and (amount is None or leg.amount == amount))
