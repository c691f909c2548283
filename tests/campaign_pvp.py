"""The money campaign's payment-versus-payment block (issue 16): programs of FX position fundings,
mints, payments across currencies (USD <-> EUR, with the message's rate inside or outside the
tolerance, with or without InstdAmt, amounts the debtor or a position cannot cover), resends,
and the rate expiring, each checked against an independent model after every message.

The model: the table's USD/EUR rate is 0.92 (no spread) for the campaign's day; a payment that
states no rate converts at it, half to even; one that states a rate within 50 bps uses it, both
amounts as written; outside, AM09. Accepted: the debtor loses the debit amount to the FX position
of its currency, the other position pays the creditor the credit amount; refused (AM04, AM09,
AM03): nothing moves. A resend of an accepted payment is ACSC and moves nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import strategies as st

from builders import FiTx, Tx, pacs008, pacs009
from pain001_builders import Block, Payment, pain001
from pvp_support import BUYER, FATIMA, FX_EUR, FX_USD, ISSUER, SUPPLIER, SUPPLIER_USD

CORPORATE = "NORTHWIND-TRADING"  # the group of BUYER and SUPPLIER: its pain.001 debits them
TABLE = Decimal("0.92")
TOLERANCE_BPS = 50
RATES = ("base,quote,rate,valid_from,valid_until\n"
         "USD,EUR,0.92,2026-11-24T00:00:00Z,2026-11-25T00:00:00Z\n")
DAY = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
EXPIRED = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
WALLET_OF = {BUYER: ("w-buyer", "USD"), SUPPLIER: ("w-supplier", "EUR"),
             SUPPLIER_USD: ("w-supplier-usd", "USD")}
POSITION = {"USD": ("fx-usd", FX_USD), "EUR": ("fx-eur", FX_EUR)}


@dataclass(frozen=True)
class PvpStep:
    intent: str  # fund, mint, pvp, resend, expire
    body: str = ""
    debtor: str | None = None  # account
    creditor: str | None = None
    debit: int | None = None  # minor units, as the message fixes them (None: converted)
    credit: int | None = None
    rate: Decimal | None = None  # the message's rate, debit -> credit currency
    resends: int | None = None  # the step whose payment this resends
    amount: int = 0  # fund / mint
    account: str | None = None
    elsewhere: str | None = None  # a pain.001 to a creditor elsewhere: the instructed currency


def _major(units: int) -> str:
    return f"{Decimal(units).scaleb(-2):.2f}"


@st.composite
def pvp_programs(draw, max_steps: int = 12) -> list[PvpStep]:
    steps: list[PvpStep] = [_fund(c, 500_000) for c in ("USD", "EUR")]
    steps += [_mint(account, 300_000) for account in (BUYER, SUPPLIER)]  # most payments can be paid
    uuids = iter(draw(st.lists(st.uuids(version=4), min_size=max_steps, max_size=max_steps, unique=True)))
    for _ in range(draw(st.integers(3, max_steps))):
        intent = draw(st.sampled_from(["fund", "mint", "pvp", "pvp", "pain001", "pain001", "resend",
                                       "expire"]))
        if intent == "fund":
            steps.append(_fund(draw(st.sampled_from(["USD", "EUR"])), draw(st.integers(1, 500_000))))
        elif intent == "mint":
            steps.append(_mint(draw(st.sampled_from(sorted(WALLET_OF))), draw(st.integers(1, 500_000))))
        elif intent == "pvp":
            debtor, creditor = draw(st.sampled_from([(BUYER, SUPPLIER), (SUPPLIER, SUPPLIER_USD),
                                                     (SUPPLIER, BUYER)]))
            steps.append(_payment(draw, debtor, creditor, str(next(uuids))))
        elif intent == "pain001":
            debtor = draw(st.sampled_from([BUYER, SUPPLIER]))
            creditor = draw(st.sampled_from([SUPPLIER if debtor == BUYER else BUYER, FATIMA]))
            steps.append(_initiation(draw, debtor, creditor, str(next(uuids))))
        elif intent == "resend" and any(s.intent in ("pvp", "pain001") for s in steps):
            index = draw(st.sampled_from([i for i, s in enumerate(steps) if s.intent in ("pvp", "pain001")]))
            same = draw(st.booleans())
            body = steps[index].body if same else steps[index].body.replace("<MsgId>MSG-", "<MsgId>AGN-")
            steps.append(PvpStep("resend", body, resends=index))
        elif intent == "expire":
            steps.append(PvpStep("expire"))
    return steps


def _fund(currency: str, amount: int) -> PvpStep:
    """The bank funds its FX position in `currency` (a pacs.009 of its own liquidity)."""
    body = pacs009([FiTx(amount=_major(amount), currency=currency, debtor_bic=ISSUER,
                         creditor_bic=ISSUER, creditor_iban=POSITION[currency][1])], instructing_bic=ISSUER)
    return PvpStep("fund", body, amount=amount, account=POSITION[currency][1])


def _mint(account: str, amount: int) -> PvpStep:
    body = pacs008([Tx(amount=_major(amount), currency=WALLET_OF[account][1], debtor_iban=FATIMA,
                       creditor_iban=account)])
    return PvpStep("mint", body, amount=amount, account=account)


def _payment(draw, debtor: str, creditor: str, uetr: str) -> PvpStep:
    """A payment from `debtor` to `creditor` (different currencies) through the issuer."""
    debit_ccy, credit_ccy = WALLET_OF[debtor][1], WALLET_OF[creditor][1]
    form = draw(st.sampled_from(["table", "stated", "off"]))
    units = draw(st.integers(1, 300_000))
    if form == "table":  # IntrBkSttlmAmt in the debtor's currency, nothing else
        tx = Tx(amount=_major(units), currency=debit_ccy, debtor_iban=debtor, creditor_iban=creditor,
                debtor_bic=ISSUER, uetr=uetr)
        step = PvpStep("pvp", debtor=debtor, creditor=creditor, debit=units)
    else:  # InstdAmt in the debtor's, IntrBkSttlmAmt in the creditor's, XchgRate stated
        bps = draw(st.integers(-40, 40)) if form == "stated" else draw(st.sampled_from([-300, 120, 400]))
        x = (Decimal("0.92") * (1 + Decimal(bps) / 10_000)).quantize(Decimal("0.000001"))
        # x converts the USD side into the EUR side: the EUR amount = USD amount x x
        usd, eur = (units, None) if debit_ccy == "USD" else (None, units)
        if usd is not None:
            eur = int((Decimal(usd) * x).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        else:
            usd = int((Decimal(eur) / x).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        if usd <= 0 or eur <= 0:
            usd, eur = 100, int((100 * x).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        settled, instructed = ((eur, "EUR"), (usd, "USD")) if credit_ccy == "EUR" else ((usd, "USD"), (eur, "EUR"))
        # XchgRate converts InstdAmt's currency into IntrBkSttlmAmt's
        stated = x if instructed[1] == "USD" else (1 / x).quantize(Decimal("0.0000000001"))
        tx = Tx(amount=_major(settled[0]), currency=settled[1], debtor_iban=debtor, creditor_iban=creditor,
                debtor_bic=ISSUER, uetr=uetr, instructed=(_major(instructed[0]), instructed[1]),
                xchg_rate=f"{stated}")
        debit, credit = (usd, eur) if debit_ccy == "USD" else (eur, usd)
        # the settled side is the creditor's: XchgRate is the debit -> credit rate as stated
        step = PvpStep("pvp", debtor=debtor, creditor=creditor, debit=debit, credit=credit,
                       rate=stated)
    return PvpStep(step.intent, pacs008([tx], instructing_bic=ISSUER), step.debtor, step.creditor,
                   step.debit, step.credit, step.rate)


def _initiation(draw, debtor: str, creditor: str, uetr: str) -> PvpStep:
    """A corporate's pain.001 (channel CORPORATE, the debtor's group) instructing an amount in
    the other currency: to `creditor` here, or to FATIMA elsewhere (its fiat leg)."""
    currency = "EUR" if WALLET_OF[debtor][1] == "USD" else "USD"
    units = draw(st.integers(1, 300_000))
    payment = Payment(amount=_major(units), currency=currency, creditor_iban=creditor, uetr=uetr,
                      creditor_bic="BNPAFRPPXXX" if creditor == FATIMA else ISSUER)
    body = pain001([Block(debtor_iban=debtor, payments=[payment], execution_date="2026-11-24")],
                   channel=CORPORATE, msg_id=f"MSG-{uetr[:8]}")
    return PvpStep("pain001", body, debtor=debtor, creditor=creditor, credit=units,
                   elsewhere=currency if creditor == FATIMA else None)


def credit_currency(step: PvpStep) -> str:
    return step.elsewhere or WALLET_OF[step.creditor][1]


def expected_legs(step: PvpStep) -> tuple[int, int] | str:
    """The model's (debit, credit) minor units of a payment, or the reason it is refused for
    its rate (AM09); funds are checked by the caller."""
    debit_ccy = WALLET_OF[step.debtor][1]
    # the rate the bank states is the one it uses: the table's to 10 significant digits
    table = TABLE if debit_ccy == "USD" else Decimal(f"{1 / TABLE:.10g}")
    if step.rate is None and step.debit is None:  # a pain.001: the instructed amount fixed
        return int((Decimal(step.credit) / table).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), step.credit
    if step.rate is None:
        credit = int((Decimal(step.debit) * table).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return step.debit, credit
    if abs(step.rate - table) / table * 10_000 > TOLERANCE_BPS:
        return "AM09"
    return step.debit, step.credit
