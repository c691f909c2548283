"""A payment across currencies, before and after it is priced.

A payment whose debtor's tokens and creditor's tokens differ (`CrossCurrencyPayment`) settles
payment-versus-payment: the debtor's tokens go to the bank's FX position wallet of their
currency (the debit leg), and the bank's FX position wallet of the other currency pays the
creditor (the credit leg). Pricing (`price`) makes the two legs (`Exchange`):

- the rate, in units of the creditor's currency per unit of the debtor's: the message's where
  it states one (`XchgRate`, or implied by its two amounts) within the tolerance of the bank's
  rate table (spread taken); a message without one gets the table's. No valid table rate for
  the pair at the clock's moment: refused AM03 (NotAllowedCurrency: this bank does not convert
  it now); a message rate outside the tolerance, or two amounts that disagree with the rate by
  more than one minor unit: refused AM09 (WrongAmount: not the amount the bank would agree to;
  ISO has no code naming an exchange rate);
- amounts: what the message fixes stays as it is (IntrBkSttlmAmt on its side; InstdAmt on the
  other side when given). A side the message does not fix is converted at the rate and rounded
  half to even (banker's rounding) to the currency's minor unit, with `decimal`; a table rate is
  first rounded half to even to 10 significant digits, so the rate stated is the rate used;
- keys: the debit leg carries the payment's own key (statuses and lookups find the payment
  under it), the credit leg that key + `/fx` (`credit_leg_key`); both legs carry the payment's
  references. Both are applied in one unit of work, or neither (bridge.fx.settlement).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from bridge.codes import Reason
from bridge.fx.rates import BASIS_POINTS, PRECISION, RateTable
from bridge.money import LEDGER_MAX_UNITS, Amount, minor_units
from bridge.operations import BURN, TRANSFER, PaymentRefs, Rejection, TokenOperation

MESSAGE_RATE, TABLE_RATE = "message", "table"
"""Where the rate of an exchange came from."""

RATE_DIGITS = 10
"""Significant digits a table rate (spread taken, possibly the reverse of a row) is rounded to
before use: the reply states it exactly, and it is far finer than any minor unit."""

CREDIT_LEG_SUFFIX = "/fx"


def credit_leg_key(key: str) -> str:
    """The credit leg's key: the payment's key + `/fx` (the debit leg keeps the payment's)."""
    return key + CREDIT_LEG_SUFFIX


def is_credit_leg(key: str) -> bool:
    """Whether `key` is a PvP credit leg's (its payment speaks through its debit leg)."""
    return key.endswith(CREDIT_LEG_SUFFIX)


@dataclass(frozen=True, slots=True)
class CrossCurrencyPayment:
    """A payment between wallets of different currencies, not priced yet. At least one of the
    amounts is fixed by the message; `message_rate` is in units of `credit_currency` per unit of
    `debit_currency` (None: the message states none)."""

    key: str
    debit_wallet: str
    debit_currency: str
    credit_wallet: str | None  # None: the credit leg burns (a pain.001 paying a creditor elsewhere)
    credit_currency: str
    debit_amount: int | None = None  # minor units of debit_currency, when the message fixes them
    credit_amount: int | None = None  # minor units of credit_currency, when the message fixes them
    message_rate: Decimal | None = None
    rate_stated: bool = False  # the message wrote XchgRate (else a rate is implied by two amounts)
    refs: PaymentRefs = PaymentRefs()

    # What the debit rule (bridge.payments.authorisation) reads of an operation: it debits a wallet.
    kind = TRANSFER

    @property
    def pair(self) -> str:
        return f"{self.debit_currency}->{self.credit_currency}"


@dataclass(frozen=True, slots=True)
class Exchange:
    """A priced payment-versus-payment: both legs, the rate used and where it came from."""

    payment: CrossCurrencyPayment
    debit_leg: TokenOperation  # debtor -> FX position of the debtor's currency
    credit_leg: TokenOperation  # FX position of the creditor's currency -> creditor
    rate: Decimal  # units of the credit currency per unit of the debit currency
    source: str  # MESSAGE_RATE or TABLE_RATE

    @property
    def legs(self) -> tuple[TokenOperation, TokenOperation]:
        return self.debit_leg, self.credit_leg

    def describe(self) -> str:
        """For the reply (AddtlInf, at most 105 characters): the pair, rate and both amounts."""
        debit = Amount.from_minor(self.debit_leg.amount, self.debit_leg.currency)
        credit = Amount.from_minor(self.credit_leg.amount, self.credit_leg.currency)
        return (f"PvP {self.payment.pair} rate {_plain(self.rate)} ({self.source}): "
                f"debited {debit}, credited {credit}")


def exchange_of(payment: CrossCurrencyPayment, debit_leg: TokenOperation,
                credit_leg: TokenOperation, source: str) -> Exchange:
    """The exchange two recorded legs make (a replay states what was applied then): its rate is
    the one the amounts imply, to RATE_DIGITS."""
    with localcontext() as context:
        context.prec = RATE_DIGITS
        rate = (_major(credit_leg.amount, credit_leg.currency)
                / _major(debit_leg.amount, debit_leg.currency))
    return Exchange(payment, debit_leg, credit_leg, rate, source)


def price(payment: CrossCurrencyPayment, rates: RateTable, tolerance_bps: int, moment: datetime,
          fx_wallets: Mapping[str, str]) -> Exchange | Rejection:
    """The two legs of `payment` at `moment` (see the module's rules), or why it is refused.
    `fx_wallets` is the bank's FX position wallet of each currency."""
    pair = payment.pair
    quote = rates.quote(payment.debit_currency, payment.credit_currency, moment)
    if quote is None:
        return Rejection(Reason.NOT_ALLOWED_CURRENCY,
                         f"no valid {pair} rate in the bank's rate table at {moment.isoformat()}")
    table_rate = _significant(quote.rate, RATE_DIGITS)
    if payment.message_rate is not None:
        with localcontext() as context:
            context.prec = PRECISION
            deviation = abs(payment.message_rate - table_rate) / table_rate * BASIS_POINTS
        if deviation > tolerance_bps:
            return Rejection(Reason.WRONG_AMOUNT,
                             f"{pair} rate {_plain(payment.message_rate)} is {deviation:.0f} bps from "
                             f"the bank's {_plain(table_rate)} (tolerance {tolerance_bps} bps)")
        rate, source = payment.message_rate, MESSAGE_RATE
    else:
        rate, source = table_rate, TABLE_RATE
    debit, credit = payment.debit_amount, payment.credit_amount
    if debit is None and credit is None:
        raise ValueError("a cross-currency payment fixes at least one of its amounts")
    if credit is None:
        credit = convert(debit, payment.debit_currency, payment.credit_currency, rate)
    elif debit is None:
        debit = convert(credit, payment.credit_currency, payment.debit_currency, rate, inverse=True)
    elif payment.rate_stated:
        expected = convert(debit, payment.debit_currency, payment.credit_currency, rate)
        if abs(expected - credit) > 1:  # a sender rounding otherwise is one minor unit off at most
            stated = Amount.from_minor(credit, payment.credit_currency)
            return Rejection(Reason.WRONG_AMOUNT,
                             f"{stated} is not the debited amount at the stated "
                             f"{pair} rate {_plain(rate)}")
    for units, currency in ((debit, payment.debit_currency), (credit, payment.credit_currency)):
        if units <= 0:
            return Rejection(Reason.ZERO_AMOUNT, f"the {currency} leg rounds to nothing at {_plain(rate)}")
        if units > LEDGER_MAX_UNITS:
            return Rejection(Reason.NOT_ALLOWED_AMOUNT, f"the {currency} leg is beyond the ledger's range")
    missing = [c for c in (payment.debit_currency, payment.credit_currency) if c not in fx_wallets]
    if missing:
        return Rejection(Reason.NOT_ALLOWED_CURRENCY,
                         f"the bank has no FX position wallet in {', '.join(missing)}")
    debit_leg = TokenOperation(payment.key, TRANSFER, payment.debit_currency, debit,
                               debit_wallet=payment.debit_wallet,
                               credit_wallet=fx_wallets[payment.debit_currency], refs=payment.refs)
    # Without a creditor wallet here the FX position funds a burn: the fiat leg pays the creditor.
    credit_leg = TokenOperation(credit_leg_key(payment.key),
                                TRANSFER if payment.credit_wallet else BURN, payment.credit_currency,
                                credit, debit_wallet=fx_wallets[payment.credit_currency],
                                credit_wallet=payment.credit_wallet, refs=payment.refs)
    return Exchange(payment, debit_leg, credit_leg, rate, source)


def convert(units: int, source: str, target: str, rate: Decimal, *, inverse: bool = False) -> int:
    """`units` minor units of `source` in minor units of `target` at `rate` (units of the target
    per unit of the source; with `inverse`, units of the source per unit of the target), rounded
    half to even to the target's minor unit."""
    with localcontext() as context:
        context.prec = PRECISION
        major = _major(units, source)
        converted = major / rate if inverse else major * rate
        step = Decimal(1).scaleb(-minor_units(target))
        return int(converted.quantize(step, rounding=ROUND_HALF_EVEN).scaleb(minor_units(target)))


def _major(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_units(currency))


def _significant(value: Decimal, digits: int) -> Decimal:
    """`value` rounded half to even to `digits` significant digits."""
    if value == 0:
        return value
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def _plain(rate: Decimal) -> str:
    """A rate as people write it: no exponent, no trailing zeros."""
    return f"{rate.normalize():f}"
