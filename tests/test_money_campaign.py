"""The adversarial campaign of issue 13: valid messages with real-world variations, through the
pipeline as `tokenbridge replay` runs it, on a real SQL store (SQLite), with the money
invariants asserted after every message.

Each example gets its own store (a copy of one migrated template), the registry imported with
its IBANs written one way or another (canonical, lower case, grouped by four), and a program of
messages (tests/campaign_programs.py). After EVERY message, on the whole store:

- books: every balance and the supply are exact integers; no wallet is negative; the supply of
  each currency equals the sum of its wallet balances;
- supply moves only by MINT and BURN: its change in the step equals the mint and burn postings
  the step added; a balance changes only by the step's postings; earlier postings stay as they
  were;
- at most once: every ledger operation is explained by one payment the campaign sent (by UETR,
  EndToEndId, AcctSvcrRef; NOTPROVIDED transactions by message), and no payment has more
  operations than it is payments;
- answered: a rejection is a pacs.002 RJCT with a reason for each rejected transaction; a
  refusal has a reason; a rejected or refused message changes nothing;
- the rules (a model of the brief, from the books before the step): the status and reason of
  every transaction (a foreign bank's debit is RJCT AG01; an overflow is RJCT AM..; the
  omnibus account or one wallet on both sides is RJCT; unknown accounts AC01/AC03; not enough
  tokens AM04) and exactly the balances the accepted ones lead to (a lower-case IBAN transfer
  keeps the supply; NOTPROVIDED transactions are each applied); a statement from anyone but the
  issuer is refused; a statement mints only payments it books, not yet applied, to the
  creditor it names, never a 0.00 or sub-minor part; one payment arriving by two roads, in
  either order, is applied exactly once;
- returns (pacs.004): a payment's returns never add up to more than it (AM09, ARDT when
  nothing is left), a return reverses its payment (a mint burnt, a transfer back, a burn
  minted back) unless the wallet cannot cover it (AM04), another currency is AM11, a debit
  asked by another bank than the issuer AG01 (a burn credited back: by the issuer or the bank
  it went to), a payment never applied AG09; the same return
  id again applies nothing (AM05 with another amount); each reversal names its payment;
- corporates (pain.001): a corporate debits only its own group's accounts tokenized here
  (never a mint), and each burn it causes sends exactly one valid pacs.008 fiat leg the first
  time it applies, none on a resend;
- payments across currencies (issue 16, tests/campaign_pvp.py): both legs or neither, each
  amount as an independent model of the rate table, the tolerance and banker's rounding says,
  the debtor's and the FX positions' funds; resends and an expired rate change nothing.

Bounded (about 30 s of CPU): `TOKENBRIDGE_CAMPAIGN_SCALE` (default 1) multiplies the examples;
derandomized (the same examples every run) unless `TOKENBRIDGE_CAMPAIGN_RANDOM=1`; a failure is
reported as found, each step printed, unless `TOKENBRIDGE_CAMPAIGN_SHRINK=1` asks hypothesis to
shrink it (minutes). The figures (examples, messages, transactions, outcomes) are printed at the
end of the run.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from lxml import etree

from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import parse_registry_rows
from bridge.iso.reader import MessageReader
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs
from bridge.bus import MessageBus
from bridge.config import BridgeConfig
from bridge.outcomes import MessageOutcome
from bridge.returns.reversal import RETURN_KEY_PREFIX
from campaign_messages import (ALLOWED_SENDERS, CORPORATE_SENDERS, CUSTOMERS, EXPONENT, ISSUER,
                               MAX_MINOR, NOT_PROVIDED, OMNIBUS, Acct, Camt053, CreditTransfer,
                               Customer, Entry, Pacs004, Pacs008, Pain001, Part, major, registry_row,
                               render)
from campaign_programs import EndOfDay, Program, Step, programs
from campaign_pvp import pvp_programs
from reconcile_support import ManualClock

pytestmark = pytest.mark.slow  # the money campaign: hypothesis, thousands of messages

SCALE = int(os.environ.get("TOKENBRIDGE_CAMPAIGN_SCALE", "1"))
RANDOM = os.environ.get("TOKENBRIDGE_CAMPAIGN_RANDOM", "") == "1"

REJECTED = "RJCT"
SETTLED = "ACSC"
UNKNOWN_ACCOUNT = frozenset({"AC01", "AC03"})


SHRINK = os.environ.get("TOKENBRIDGE_CAMPAIGN_SHRINK", "") == "1"


def campaign(examples: int):
    phases = tuple(Phase) if SHRINK else tuple(p for p in Phase if p not in (Phase.shrink, Phase.explain))
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=not RANDOM,
                    database=None, print_blob=False, phases=phases,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# -- the bank: a store per example -----------------------------------------------------------

def bridge_config() -> BridgeConfig:
    """The issuer, the banks allowed to send (the issuer and one other), statements only
    from the issuer (`statement_senders`), and the corporate channels."""
    return BridgeConfig(issuer_bic=ISSUER, allowed_senders=ALLOWED_SENDERS,
                        statement_senders=frozenset({ISSUER}), corporate_senders=CORPORATE_SENDERS)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("campaign") / "template.db"
    engine = create_store_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


_copies = itertools.count()


@contextmanager
def bank(template: Path, forms: tuple[str, ...]) -> Iterator[tuple[SqlStore, MessageBus]]:
    """A fresh store (a copy of the migrated template) with the registry imported as the
    bank's CSV would write it (CUSTOMERS in `forms`, and the omnibus accounts), and the
    pipeline `replay` builds on it, with a clock inside the statements' day."""
    path = template.parent / f"example-{next(_copies)}.db"
    shutil.copyfile(template, path)
    engine = create_store_engine(f"sqlite:///{path}")
    clock = ManualClock()
    store = SqlStore(engine, SqlLedgerPlugin(clock=clock), clock)
    rows = [registry_row(c, form) for c, form in zip(CUSTOMERS, forms, strict=True)]
    rows += [registry_row(c, "canonical") for c in OMNIBUS.values()]
    with store() as uow:
        uow.accounts.upsert(parse_registry_rows(rows))
        uow.commit()
    try:
        yield store, MessageBus(MessageReader(), store, bridge_config(), is_transient=store.is_transient,
                              clock=clock)
    finally:
        engine.dispose()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()


# -- the books ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Books:
    """The whole store through the ledger port: balances, supply and the journal."""

    balances: dict[tuple[str, str], int]
    supply: dict[str, int]
    postings: tuple

    @classmethod
    def read(cls, store: SqlStore) -> "Books":
        with store() as uow:
            ledger = uow.ledger
            return cls({(b.wallet, b.currency): b.balance for b in ledger.balances()},
                       ledger.supply(), tuple(ledger.journal()))

    def balance(self, wallet: str, currency: str) -> int:
        return self.balances.get((wallet, currency), 0)

    def same_money(self, other: "Books") -> bool:
        return (_nonzero(self.balances) == _nonzero(other.balances)
                and _nonzero(self.supply) == _nonzero(other.supply) and self.postings == other.postings)


def _nonzero(values: dict) -> dict:
    return {k: v for k, v in values.items() if v}


def check_books(before: Books, after: Books, where: str) -> None:
    """Exact, never negative, supply == sum of balances, supply moves only by MINT and BURN."""
    for (wallet, currency), value in after.balances.items():
        assert type(value) is int, f"{where}: balance of {wallet} {currency} is {value!r}, not an exact integer"
        assert value >= 0, f"{where}: wallet {wallet} holds {value} {currency}"
    for currency, value in after.supply.items():
        assert type(value) is int, f"{where}: {currency} supply is {value!r}, not an exact integer"
    sums: dict[str, int] = defaultdict(int)
    for (_, currency), value in after.balances.items():
        sums[currency] += value
    assert _nonzero(after.supply) == _nonzero(sums), \
        f"{where}: supply {after.supply} is not the sum of the balances {dict(sums)}"
    assert after.postings[:len(before.postings)] == before.postings, f"{where}: earlier postings changed"
    new = after.postings[len(before.postings):]
    minted: dict[str, int] = defaultdict(int)
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for posting in new:
        moved[posting.holder, posting.currency] += posting.amount
        if posting.counterparty.startswith("issuance:"):
            expected_kind = MINT if posting.amount > 0 else BURN
            assert posting.kind == expected_kind, f"{where}: a {posting.kind} posting moved the supply: {posting}"
            minted[posting.currency] += posting.amount
        else:
            assert posting.kind == TRANSFER, f"{where}: a {posting.kind} posting between wallets: {posting}"
    for currency in set(before.supply) | set(after.supply):
        change = after.supply.get(currency, 0) - before.supply.get(currency, 0)
        assert change == minted.get(currency, 0), \
            f"{where}: {currency} supply moved by {change}, its mint/burn postings by {minted.get(currency, 0)}"
    for pair in set(before.balances) | set(after.balances):
        change = after.balances.get(pair, 0) - before.balances.get(pair, 0)
        assert change == moved.get(pair, 0), \
            f"{where}: balance {pair} moved by {change}, its postings by {moved.get(pair, 0)}"


# -- who pays whom: the brief's rules -------------------------------------------------------------

def institution(bic: str | None) -> str | None:
    return bic.upper()[:8] if bic else None


def ours(account: Acct | None, agent: str | None) -> Customer | None:
    """The registry row `account` is, compared as banks compare (an IBAN without spaces in
    upper case; an `Othr/Id` with its scheme and issuer), when the agent on its side is the
    issuer (or not named, on a statement)."""
    if account is None or (agent is not None and institution(agent) != institution(ISSUER)):
        return None
    for row in (*CUSTOMERS, *OMNIBUS.values()):
        known = row.account
        if account.iban and known.iban == account.iban.replace(" ", "").upper():
            return row
        if account.other and (known.other, known.scheme, known.issuer) == (
                account.other, account.scheme, account.issuer):
            return row
    return None


def listed(bic: str | None) -> bool:
    return institution(bic) in {institution(b) for b in ALLOWED_SENDERS}


def sender_of(message: Pacs008 | Camt053) -> str | None:
    if isinstance(message, Pacs008):
        return message.header_from or message.group_instructing_agent
    return message.header_from or message.servicer


@dataclass(frozen=True)
class Expected:
    """What the brief says of one transaction: its status, the reasons it may carry (None:
    any; a code ending in `..`: any of that family), and whether it moves money."""

    status: str
    reasons: frozenset[str] | None = None
    moves: bool = False
    rule: str = ""

    def allows(self, reason: str | None) -> bool:
        if self.reasons is None:
            return bool(reason)
        return bool(reason) and any(reason == r or (r.endswith("..") and reason.startswith(r[:-2]))
                                    for r in self.reasons)


def _rejected(rule: str, *reasons: str) -> Expected:
    return Expected(REJECTED, frozenset(reasons) if reasons else None, rule=rule)


@dataclass
class Model:
    """The campaign's memory: which payments are applied, and what explains an operation."""

    program: Program
    applied: dict[int, str] = field(default_factory=dict)  # pid -> kind
    transfers: dict[int, CreditTransfer] = field(default_factory=dict)  # pid -> its pacs.008 transaction
    parts: dict[int, tuple[Part, str]] = field(default_factory=dict)  # pid -> its statement part, currency
    message_of: dict[int, str] = field(default_factory=dict)  # pid -> MsgId of its pacs.008
    by_uetr: dict[str, int] = field(default_factory=dict)
    by_e2e: dict[str, int] = field(default_factory=dict)
    by_ref: dict[str, int] = field(default_factory=dict)
    not_provided: dict[str, list[int]] = field(default_factory=dict)  # MsgId -> its NOTPROVIDED pids
    paid: set[int] = field(default_factory=set)  # pids applied by their own pacs.008
    returned: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # pid -> minor units back
    returns: dict[tuple[int, str], int] = field(default_factory=dict)  # (pid, RtrId) -> amount applied

    def __post_init__(self) -> None:
        for step in self.program.steps:
            message = step.message
            if isinstance(message, (Pacs008, Pain001)):
                for tx in message.transactions:
                    self.transfers.setdefault(tx.pid, tx)
                    self.message_of.setdefault(tx.pid, message.msg_id)
                    if tx.end_to_end_id == NOT_PROVIDED:
                        group = self.not_provided.setdefault(message.msg_id, [])
                        if tx.pid not in group:
                            group.append(tx.pid)
                    else:
                        self.by_e2e[tx.end_to_end_id] = tx.pid
                    if tx.uetr:
                        self.by_uetr[tx.uetr] = tx.pid
            elif isinstance(message, Camt053):
                for part in (p for e in message.entries for p in e.parts):
                    self.parts.setdefault(part.pid, (part, message.currency))
                    for table, key in ((self.by_uetr, part.uetr), (self.by_e2e, part.end_to_end_id),
                                       (self.by_ref, part.acct_ref)):
                        if key and key != NOT_PROVIDED:
                            table[key] = part.pid

    def explain(self, refs) -> tuple | None:
        """The payment (or NOTPROVIDED group) an operation's references name."""
        for table, key in ((self.by_uetr, refs.uetr), (self.by_e2e, refs.end_to_end_id),
                           (self.by_ref, refs.account_servicer_ref)):
            if key and key in table:
                return ("payment", table[key])
        if refs.end_to_end_id == NOT_PROVIDED and refs.message_id in self.not_provided:
            return ("not-provided", refs.message_id)
        return None

    def members(self, group: tuple) -> list[int]:
        return self.not_provided[group[1]] if group[0] == "not-provided" else [group[1]]

    # -- the rules of a pacs.008 ------------------------------------------------------------

    def expect(self, message: Pacs008 | Pain001, books: Books) -> tuple[list[Expected], dict, dict]:
        """Each transaction's expected outcome, and the balances and supply they lead to."""
        balances = defaultdict(int, books.balances)
        supply = defaultdict(int, books.supply)
        sender = sender_of(message) if isinstance(message, Pacs008) else None
        results = []
        for tx in message.transactions:
            outcome = (self._initiation_rule(tx, message.channel, balances) if isinstance(message, Pain001)
                       else self._rule(tx, sender, balances, supply))
            if outcome.moves:
                debtor = ours(tx.debtor, tx.debtor_agent)
                creditor = ours(tx.creditor, tx.creditor_agent)
                if debtor:
                    balances[debtor.wallet, tx.currency] -= tx.amount
                if creditor:
                    balances[creditor.wallet, tx.currency] += tx.amount
                supply[tx.currency] += (tx.amount if not debtor else 0) - (tx.amount if not creditor else 0)
            results.append(outcome)
        return results, dict(balances), dict(supply)

    def _rule(self, tx: CreditTransfer, sender: str | None, balances, supply) -> Expected:
        if not listed(sender) or (tx.instructing_agent and not listed(tx.instructing_agent)):
            return _rejected("sender-not-allowed", "AG01")
        debtor = ours(tx.debtor, tx.debtor_agent)
        creditor = ours(tx.creditor, tx.creditor_agent)
        if (debtor and debtor.wallet is None) or (creditor and creditor.wallet is None):
            return _rejected("omnibus-is-never-a-party")
        if debtor and creditor and debtor.wallet == creditor.wallet:
            return _rejected("same-wallet-both-sides")
        if debtor and not (institution(sender) == institution(ISSUER)
                           and institution(tx.instructing_agent or ISSUER) == institution(ISSUER)):
            return _rejected("foreign-debit", "AG01")
        if not debtor and not creditor:
            return _rejected("not-ours", *UNKNOWN_ACCOUNT)
        for row in (debtor, creditor):
            if row is not None and row.status != "active":
                return _rejected("blocked-or-closed", "AC04", "AC06")
        if tx.pid in self.applied:
            return Expected(SETTLED, rule="applied-before")
        if debtor and balances[debtor.wallet, tx.currency] < tx.amount:
            return _rejected("insufficient", "AM04")
        if creditor and (balances[creditor.wallet, tx.currency] + tx.amount > MAX_MINOR
                         or (not debtor and supply[tx.currency] + tx.amount > MAX_MINOR)):
            return _rejected("out-of-range", "AM..")
        kind = TRANSFER if debtor and creditor else MINT if creditor else BURN
        return Expected(SETTLED, moves=True, rule=kind)

    def _initiation_rule(self, tx: CreditTransfer, channel: str, balances) -> Expected:
        """A corporate's payment: from a listed channel, debiting an account of its own group
        tokenized here (never a mint), to a customer here (TRANSFER) or elsewhere (BURN)."""
        if channel not in CORPORATE_SENDERS:
            return _rejected("channel-not-listed", "AG01")
        debtor = ours(tx.debtor, tx.debtor_agent)
        if debtor is None:
            return _rejected("debtor-not-tokenized", "AC02")
        if debtor.group != channel:
            return _rejected("another-customers-account", "AG01")
        creditor = ours(tx.creditor, tx.creditor_agent)
        for row in (debtor, creditor):
            if row is not None and row.status != "active":
                return _rejected("blocked-or-closed", "AC04", "AC06")
            if row is not None and row.currency != tx.currency:
                return _rejected("across-currencies", "AM03")
        if creditor and creditor.wallet == debtor.wallet:
            return _rejected("same-wallet-both-sides", "AG03")
        if tx.pid in self.applied:
            return Expected(SETTLED, rule="applied-before")
        if balances[debtor.wallet, tx.currency] < tx.amount:
            return _rejected("insufficient", "AM04")
        if creditor and balances[creditor.wallet, tx.currency] + tx.amount > MAX_MINOR:
            return _rejected("out-of-range", "AM..")
        return Expected(SETTLED, moves=True, rule=TRANSFER if creditor else BURN)

    # -- the rules of a pacs.004 ------------------------------------------------------------

    def expect_returns(self, message: Pacs004, books: Books) -> tuple[list[Expected], dict, dict]:
        """Each return's expected outcome, and the balances and supply they lead to."""
        balances = defaultdict(int, books.balances)
        supply = defaultdict(int, books.supply)
        senders = [b for b in (message.header_from, message.group_instructing_agent) if b]
        results = []
        for rtx in message.transactions:
            outcome = self._return_rule(rtx, senders, balances, supply)
            if outcome.moves:
                tx = self.transfers[rtx.pid]
                debtor, creditor = ours(tx.debtor, tx.debtor_agent), ours(tx.creditor, tx.creditor_agent)
                if creditor:  # what it credited comes back from there
                    balances[creditor.wallet, tx.currency] -= rtx.amount
                if debtor:
                    balances[debtor.wallet, tx.currency] += rtx.amount
                supply[tx.currency] += (rtx.amount if not creditor else 0) - (rtx.amount if not debtor else 0)
            results.append(outcome)
        return results, dict(balances), dict(supply)

    def _return_rule(self, rtx, senders: list[str], balances, supply) -> Expected:
        if not all(listed(s) for s in senders):
            return _rejected("sender-not-allowed", "AG01")
        if rtx.pid not in self.paid:
            return _rejected("never-applied", "AG09")
        tx, kind = self.transfers[rtx.pid], self.applied[rtx.pid]
        if kind != BURN and not all(institution(s) == institution(ISSUER) for s in senders):
            return _rejected("foreign-debit", "AG01")
        if kind == BURN and not all(institution(s) in (institution(ISSUER), institution(tx.creditor_agent))
                                    for s in senders):
            return _rejected("not-its-own-payment", "AG01")
        if (rtx.pid, rtx.rid) in self.returns:
            same = self.returns[rtx.pid, rtx.rid] == rtx.amount
            return Expected(SETTLED, rule="returned-before") if same else _rejected("return-id-reused", "AM05")
        if rtx.currency != tx.currency:
            return _rejected("other-currency", "AM11")
        left = tx.amount - self.returned[rtx.pid]
        if left <= 0:
            return _rejected("nothing-left", "ARDT")
        if rtx.amount > left:
            return _rejected("more-than-left", "AM09")
        debtor, creditor = ours(tx.debtor, tx.debtor_agent), ours(tx.creditor, tx.creditor_agent)
        if creditor and balances[creditor.wallet, tx.currency] < rtx.amount:
            return _rejected("spent", "AM04")
        if debtor and (balances[debtor.wallet, tx.currency] + rtx.amount > MAX_MINOR
                       or (not creditor and supply[tx.currency] + rtx.amount > MAX_MINOR)):
            return _rejected("out-of-range", "AM..")
        return Expected(SETTLED, moves=True, rule=f"return of a {kind}")

    def _as_booked(self, pid: int) -> dict:
        """What a bank's statement knows of a payment: from its pacs.008, else its statement part."""
        if pid in self.transfers:
            tx = self.transfers[pid]
            return dict(currency=tx.currency, amount=tx.amount, msg_id=self.message_of.get(pid),
                        end_to_end_id=tx.end_to_end_id, uetr=tx.uetr, tx_id=tx.tx_id,
                        creditor=tx.creditor, debtor=tx.debtor)
        part, currency = self.parts[pid]
        return dict(currency=currency, amount=_minor(part.amount, currency), msg_id=part.msg_id,
                    end_to_end_id=part.end_to_end_id, uetr=part.uetr, tx_id=part.tx_id,
                    creditor=part.creditor, debtor=part.debtor)

    # -- end of day ---------------------------------------------------------------------------

    def end_of_day(self, spec: EndOfDay, number: int) -> Camt053:
        """The issuer's omnibus statement booking every payment applied so far in a currency
        (mints as credits, burns as debits), references as a bank keeps them."""
        entries, total = [], 0
        for pid, kind in self.applied.items():
            booked = self._as_booked(pid)
            if kind not in (MINT, BURN) or booked["currency"] != spec.currency:
                continue
            amount = booked.pop("amount")
            if amount >= 10 ** 15 or total + amount >= 10 ** 17:
                continue  # the statement's figures stay within 18 digits
            total += amount
            text = major(amount, spec.currency)
            # A NOTPROVIDED payment without a UETR shares no reference the brief names with its
            # entry: booked without the creditor's account, it can only match or stay unapplied.
            named = booked["end_to_end_id"] != NOT_PROVIDED or booked["uetr"]
            part = Part(pid, text, msg_id=booked["msg_id"], acct_ref=f"EOD-{number}-{pid}",
                        end_to_end_id=booked["end_to_end_id"], uetr=booked["uetr"], tx_id=booked["tx_id"],
                        creditor=booked["creditor"] if kind == MINT and named else None,
                        debtor=booked["debtor"] if kind == BURN else None)
            entries.append(Entry(text, kind == MINT, part.acct_ref, (part,)))
        bic = ISSUER[:8] if spec.short_bic else ISSUER
        return Camt053(spec.version, f"CMP-EOD{number:03d}", spec.currency, OMNIBUS[spec.currency].account,
                       bic, tuple(entries), bic if spec.header else None)


# -- one example: the program, step by step --------------------------------------------------------

@dataclass
class Figures:
    examples: int = 0
    messages: Counter = field(default_factory=Counter)
    transactions: Counter = field(default_factory=Counter)


FIGURES: dict[str, Figures] = defaultdict(Figures)


def reply_statuses(outcome: MessageOutcome, family: str = "pacs.002") -> list[tuple[str, str | None]]:
    """(TxSts, first StsRsnInf/Rsn code) of each TxInfAndSts of the pacs.002 (or pain.002)
    answer; the group's status and reason when it lists no transaction."""
    assert outcome.reply is not None and outcome.reply.message_type.startswith(family), \
        f"a {outcome.message_type} was not answered with a {family}: {outcome.summary}"
    root = etree.fromstring(outcome.reply.body)

    def local(element, name):
        return [e for e in element.iter() if etree.QName(e).localname == name]

    def reason_of(element):
        codes = [c.text for info in local(element, "StsRsnInf")
                 for r in local(info, "Rsn") + local(info, "StsRsn")
                 for c in local(r, "Cd") + local(r, "Prtry")]
        return codes[0] if codes else None

    found = [(local(t, "TxSts")[0].text, reason_of(t)) for t in local(root, "TxInfAndSts")]
    if found:
        return found
    group = next(g for g in local(root, "OrgnlGrpInfAndSts"))
    return [(local(group, "GrpSts")[0].text, reason_of(group))]


class Run:
    def __init__(self, store: SqlStore, pipeline: MessageBus, program: Program, figures: Figures) -> None:
        self.store, self.pipeline, self.program, self.figures = store, pipeline, program, figures
        self.model = Model(program)
        self.sent: list[tuple[bytes, MessageOutcome]] = []
        self.books = Books.read(store)
        self.check_reader = MessageReader()

    def all(self) -> None:
        check_books(self.books, self.books, "the registry import")
        for number, step in enumerate(self.program.steps):
            self.step(number, step)

    def step(self, number: int, step: Step) -> None:
        message = step.message
        if isinstance(message, EndOfDay):
            message = self.model.end_of_day(message, number)
        where = f"step {number} [{step.intent}]"
        raw = self.sent[step.same_bytes_as][0] if step.same_bytes_as is not None else render(message, step.style)
        # Bytes sent before (a resend re-serialised the way an earlier resend was): an exact resend.
        same_bytes_as = next((i for i, (sent, _) in enumerate(self.sent) if sent == raw), None)
        read = self.check_reader.read(raw)
        assert read.valid, f"{where}: the campaign wrote an invalid message: {[str(f) for f in read.findings]}"
        expected = None
        if isinstance(message, (Pacs008, Pain001)) and same_bytes_as is None:
            expected = self.model.expect(message, self.books)
        elif isinstance(message, Pacs004) and same_bytes_as is None:
            expected = self.model.expect_returns(message, self.books)
        before = self.books
        outcome, after = self.handle(where, raw)
        self.sent.append((raw, outcome))
        self.count(message, step, outcome)
        check_books(before, after, where)
        self.check_answered(where, outcome, before, after)
        if same_bytes_as is not None:
            first = self.sent[same_bytes_as][1]
            same_reply = (first.reply.message_id if first.reply else None) == (
                outcome.reply.message_id if outcome.reply else None)
            assert outcome.seen_before and outcome.verdict == first.verdict and same_reply, \
                f"{where}: the same bytes again were not answered as the first time ({outcome.summary})"
            assert after.same_money(before), f"{where}: the same bytes again moved money"
        elif isinstance(message, (Pacs008, Pain001)):
            self.check_payment(where, message, outcome, expected, after)
        elif isinstance(message, Pacs004):
            self.check_return(where, message, outcome, expected, after)
        else:
            self.check_statement(where, message, outcome, before, after)
        self.check_at_most_once(where, after)

    def handle(self, where: str, raw: bytes) -> tuple[MessageOutcome, Books]:
        """The message through the pipeline, and the books after it: neither may raise."""
        try:
            outcome = self.pipeline.handle(raw)
        except Exception as error:  # noqa: BLE001 - the run must go on: report what stopped it
            raise AssertionError(f"{where}: the pipeline raised {type(error).__name__}: {error}") from error
        try:
            self.books = Books.read(self.store)
        except Exception as error:  # noqa: BLE001 - the books must stay readable
            raise AssertionError(f"{where}: reading the books through the ledger port raised "
                                 f"{type(error).__name__}: {error}") from error
        return outcome, self.books

    def count(self, message, step: Step, outcome: MessageOutcome) -> None:
        self.figures.messages[step.intent] += 1
        self.figures.messages["(all)"] += 1
        for tx in outcome.transactions:
            self.figures.transactions[f"{tx.status} {tx.reason or ''}".strip()] += 1
            self.figures.transactions["(all)"] += 1
        event(f"{type(message).__name__}: {outcome.verdict}")

    @staticmethod
    def check_answered(where: str, outcome: MessageOutcome, before: Books, after: Books) -> None:
        """Every rejection answered, with a reason; a rejected or refused message changes nothing."""
        if outcome.verdict in ("rejected", "refused"):
            assert after.same_money(before), \
                f"{where}: a {outcome.verdict} message changed the books ({outcome.summary})"
        if outcome.verdict == "refused":
            reason = outcome.summary.removeprefix("refused:").strip()
            assert reason, f"{where}: refused without a reason"
        family = (outcome.message_type or "")[:8]
        if family in ("pacs.008", "pacs.004", "pain.001") and not outcome.seen_before:
            listed_statuses = reply_statuses(outcome, "pain.002" if family == "pain.001" else "pacs.002")
            for status, reason in listed_statuses:
                assert status != REJECTED or reason, f"{where}: RJCT without a reason in the pacs.002"
            rejected = [t for t in outcome.transactions if t.status == REJECTED]
            for tx in rejected:
                assert tx.reason, f"{where}: transaction {tx.index} rejected without a reason"
            if rejected and len(listed_statuses) == len(outcome.transactions):
                assert sum(s == REJECTED for s, _ in listed_statuses) == len(rejected), \
                    f"{where}: the pacs.002 does not say RJCT for each rejected transaction"

    def check_payment(self, where: str, message: Pacs008 | Pain001, outcome: MessageOutcome,
                      expected, after: Books) -> None:
        rules = check_as_ruled(where, [f"P{tx.pid}" for tx in message.transactions], outcome, expected, after)
        burns = [tx for tx, rule in zip(message.transactions, rules, strict=True)
                 if rule.moves and rule.rule == BURN and isinstance(message, Pain001)]
        self.check_fiat_legs(where, burns, outcome)
        for tx, rule in zip(message.transactions, rules, strict=True):
            if rule.moves:
                self.model.applied[tx.pid] = rule.rule
                self.model.paid.add(tx.pid)

    def check_return(self, where: str, message: Pacs004, outcome: MessageOutcome, expected, after: Books) -> None:
        rules = check_as_ruled(where, [repr(rtx) for rtx in message.transactions], outcome, expected, after)
        for rtx, rule in zip(message.transactions, rules, strict=True):
            if rule.moves:
                self.model.returned[rtx.pid] += rtx.amount
                self.model.returns[rtx.pid, rtx.rid] = rtx.amount

    def check_fiat_legs(self, where: str, burns: list[CreditTransfer], outcome: MessageOutcome) -> None:
        """A corporate's burn sends exactly one fiat leg, the first time it applies: a valid
        pacs.008 for its amount to its creditor; nothing else is ever emitted but the camt.054
        notifications of the operations applied."""
        legs = [m for m in outcome.emitted if not m.message_type.startswith("camt.054")]
        assert len(legs) == len(burns), \
            f"{where}: {len(legs)} fiat legs sent for {len(burns)} burns applied"
        for tx, leg in zip(burns, legs, strict=True):
            read = self.check_reader.read(leg.body)
            assert read.valid and leg.message_type == "pacs.008.001.08", \
                f"{where}: the fiat leg of P{tx.pid} is not a valid pacs.008: {read.findings}"
            [credit] = read.payload.transactions
            assert credit.amount.to_minor() == tx.amount and credit.end_to_end_id == tx.end_to_end_id, \
                f"{where}: the fiat leg of P{tx.pid} says {credit.amount} {credit.end_to_end_id}"
            assert credit.uetr and (tx.uetr is None or credit.uetr == tx.uetr), \
                f"{where}: the fiat leg of P{tx.pid} has UETR {credit.uetr}, the payment {tx.uetr}"

    def check_statement(self, where: str, message: Camt053, outcome: MessageOutcome,
                        before: Books, after: Books) -> None:
        if institution(sender_of(message)) != institution(ISSUER):
            assert outcome.verdict == "refused", (f"{where}: a statement from {sender_of(message)} "
                                                  f"must be refused, got {outcome.verdict}: {outcome.summary}")
            return
        parts = {p.pid: (p, e) for e in message.entries for p in e.parts}
        for key, postings in _operations(after.postings[len(before.postings):]).items():
            posting = postings[0]
            assert posting.kind == MINT, f"{where}: a statement caused a {posting.kind} ({key})"
            found = self.model.explain(posting.refs)
            pid = found[1] if found and found[0] == "payment" else None
            assert pid in parts, f"{where}: the statement minted {key}, no payment it books"
            part, entry = parts[pid]
            assert entry.credit and pid not in self.program.never_minted, \
                f"{where}: the statement minted part {part!r}, which must not mint"
            booked = ours(part.creditor, None)
            assert booked is not None and booked.wallet == posting.holder, \
                f"{where}: minted to {posting.holder}, the entry names {part.creditor!r}"
            assert posting.amount == _minor(part.amount, message.currency), \
                f"{where}: minted {posting.amount}, the entry books {part.amount}"
            assert pid not in self.model.applied, f"{where}: the statement minted P{pid}, applied before"
            self.model.applied[pid] = MINT

    def check_at_most_once(self, where: str, after: Books) -> None:
        """Every operation explained by a payment sent; none applied more often than it was
        sent; exactly the payments the rules applied."""
        counts: Counter = Counter()
        reversals = 0
        for key, postings in _operations(after.postings).items():
            group = self.model.explain(postings[0].refs)
            if key.startswith(RETURN_KEY_PREFIX):  # a return's own key, naming the payment it reverses
                reversals += 1
                assert group is not None and group[0] == "payment" and group[1] in self.model.paid, \
                    f"{where}: reversal {key} names no payment applied ({postings[0].refs})"
                continue
            assert group is not None, f"{where}: operation {key} ({postings[0].kind}) explained by no payment sent"
            counts[group] += 1
        for group, count in counts.items():
            members = self.model.members(group)
            assert count <= len(members), f"{where}: {group} applied {count} times (at most {len(members)})"
            for pid in members:
                assert pid not in self.program.never_minted, f"{where}: P{pid} must never be minted"
            applied = sum(pid in self.model.applied for pid in members)
            assert count == applied, f"{where}: {group} has {count} operations, the rules applied {applied}"
        for pid in self.model.applied:
            group = self.model.explain(_refs_of(self.model, pid))
            assert counts.get(group, 0) >= 1, f"{where}: P{pid} was applied, the ledger has no operation for it"
        assert reversals == len(self.model.returns), \
            f"{where}: {reversals} reversals on the ledger, the rules returned {len(self.model.returns)} times"
        for pid, back in self.model.returned.items():
            assert back <= self.model.transfers[pid].amount, f"{where}: P{pid} returned {back}, more than it"


def check_as_ruled(where: str, names: list[str], outcome: MessageOutcome, expected, after: Books) -> list[Expected]:
    """Each transaction's status and reason (named `names`) as the rules expect, and the books
    as the accepted ones lead to; the rules, for the model to remember what moved."""
    rules, balances, supply = expected
    got = [(t.status, t.reason) for t in outcome.transactions]
    assert len(got) == len(rules), f"{where}: {len(got)} outcomes for {len(rules)} transactions ({outcome.summary})"
    for name, rule, (status, reason) in zip(names, rules, got, strict=True):
        if rule.status == SETTLED:
            assert status == SETTLED, f"{where}: {name} ({rule.rule}) must settle, got {status} {reason}"
        else:
            wanted = sorted(rule.reasons or ["with a reason"])
            assert status == REJECTED and rule.allows(reason), \
                f"{where}: {name} must be RJCT {wanted} ({rule.rule}), got {status} {reason}"
    assert _nonzero(after.balances) == _nonzero(balances), \
        f"{where}: balances {_nonzero(after.balances)}, the rules give {_nonzero(balances)}"
    assert _nonzero(after.supply) == _nonzero(supply), \
        f"{where}: supply {_nonzero(after.supply)}, the rules give {_nonzero(supply)}"
    return rules


def _operations(postings) -> dict[str, list]:
    found: dict[str, list] = defaultdict(list)
    for posting in postings:
        found[posting.operation_key].append(posting)
    return found


def _minor(text: str, currency: str) -> int:
    whole, _, fraction = text.partition(".")
    exponent = EXPONENT[currency]
    return int(whole) * 10 ** exponent + int((fraction + "0" * exponent)[:exponent] or 0)


def _refs_of(model: Model, pid: int) -> PaymentRefs:
    """The references that name payment `pid` (as `Model.explain` reads an operation's)."""
    if pid in model.transfers:
        tx = model.transfers[pid]
        if tx.end_to_end_id == NOT_PROVIDED:
            return PaymentRefs(message_id=model.message_of[pid], end_to_end_id=NOT_PROVIDED)
        return PaymentRefs(end_to_end_id=tx.end_to_end_id, uetr=tx.uetr)
    part, _ = model.parts[pid]
    return PaymentRefs(end_to_end_id=part.end_to_end_id, uetr=part.uetr, account_servicer_ref=part.acct_ref)


def run_program(template: Path, program: Program, name: str) -> None:
    figures = FIGURES[name]
    figures.examples += 1
    with bank(template, program.registry_forms) as (store, pipeline):
        Run(store, pipeline, program, figures).all()


@pytest.fixture(scope="module", autouse=True)
def report_figures(request):
    """The campaign's figures, for docs/reliability.md: examples, messages, transactions."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or not FIGURES:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        _write_figures(reporter)


def _write_figures(reporter) -> None:
    reporter.write_line("")
    reporter.write_line(f"money campaign (scale {SCALE}, {'random' if RANDOM else 'derandomized'}):")
    for name, figures in sorted(FIGURES.items()):
        reporter.write_line(f"  {name}: {figures.examples} examples, {figures.messages['(all)']} messages, "
                            f"{figures.transactions['(all)']} transactions")
    total = Figures()
    for figures in FIGURES.values():
        total.examples += figures.examples
        total.messages.update(figures.messages)
        total.transactions.update(figures.transactions)
    reporter.write_line(f"  all: {total.examples} examples, {total.messages['(all)']} messages, "
                        f"{total.transactions['(all)']} transactions")
    reporter.write_line("  messages by intent: " + ", ".join(
        f"{k} {v}" for k, v in sorted(total.messages.items()) if k != "(all)"))
    reporter.write_line("  transaction outcomes: " + ", ".join(
        f"{k} {v}" for k, v in sorted(total.transactions.items()) if k != "(all)"))


# -- the properties ------------------------------------------------------------------------------

@campaign(100)
@given(program=programs(max_blocks=10))
def test_mixed_traffic_keeps_the_money_exact(template, program) -> None:
    """Every block of the campaign, mixed."""
    run_program(template, program, "mixed traffic")


@campaign(40)
@given(program=programs(("not_provided", "mint", "resend"), max_blocks=5))
def test_notprovided_transactions_of_one_message_are_each_applied(template, program) -> None:
    run_program(template, program, "NOTPROVIDED")


@campaign(50)
@given(program=programs(("mint", "transfer", "burn", "othr", "resend"), max_blocks=6))
def test_identifiers_written_any_way_name_the_same_account(template, program) -> None:
    """Lower-case and grouped IBANs (registry and messages), `Othr/Id` with and without its
    scheme, look-alikes at another bank: a transfer stays a transfer."""
    run_program(template, program, "identifiers")


@campaign(60)
@given(program=programs(("pair", "eod", "resend", "mint"), max_blocks=6))
def test_one_payment_by_two_roads_is_minted_once(template, program) -> None:
    """pacs.008 and omnibus statement entry, in either order, sharing a UETR, EndToEndId and
    amount, or AcctSvcrRef; end-of-day statements of what is applied; resends."""
    run_program(template, program, "one payment one mint")


@campaign(50)
@given(program=programs(("foreign_debit", "unlisted", "foreign_statement", "mint", "transfer", "burn"),
                        max_blocks=6))
def test_other_banks_cannot_debit_our_customers_or_state_the_omnibus(template, program) -> None:
    run_program(template, program, "who may cause what")


@campaign(30)
@given(program=programs(("overflow", "mint", "transfer", "burn"), max_blocks=4))
def test_amounts_past_the_exact_range_are_refused_and_the_run_goes_on(template, program) -> None:
    run_program(template, program, "exact range")


@campaign(40)
@given(program=programs(("reserved", "mint", "transfer"), max_blocks=5))
def test_the_omnibus_account_and_one_wallet_on_both_sides_are_never_a_payment(template, program) -> None:
    run_program(template, program, "reserved parties")


@campaign(40)
@given(program=programs(("corporate", "resend", "mint", "eod"), max_blocks=6))
def test_corporates_debit_only_their_own_accounts_and_each_burn_sends_one_fiat_leg(template, program) -> None:
    """pain.001 from listed and unlisted channels, debiting their own accounts, another's, one
    not tokenized; transfers, burns with their fiat legs, payments across currencies; resent
    the same way or another, and end-of-day statements booking the burns."""
    run_program(template, program, "corporates")


@given(program=programs(("returns", "mint", "transfer", "burn", "resend", "eod"), max_blocks=6))
def test_returns_never_exceed_their_payment_and_apply_once(template, program) -> None:
    """Full and partial returns of mints, transfers and burns, parts adding up to more than the
    payment, a return id again, another currency, another bank asking; resends; end of day."""
    run_program(template, program, "returns")


@campaign(40)
@given(program=programs(("statement_parts", "pair", "eod"), max_blocks=5))
def test_statement_parts_of_zero_or_sub_minor_amounts_never_mint(template, program) -> None:
    run_program(template, program, "statement parts")


# -- payment versus payment (issue 16) -----------------------------------------------------------

def run_pvp_program(template: Path, program: list) -> None:
    """A store with the FX registry; each step checked against the model of tests/campaign_pvp.py,
    and the books after every message."""
    from campaign_pvp import (CORPORATE, DAY, EXPIRED, POSITION, RATES, TOLERANCE_BPS, WALLET_OF,
                              credit_currency, expected_legs)

    from bridge.fx.rates import parse_rate_csv
    from pvp_support import BUYER, FX_ACCOUNTS, ISSUER as FX_ISSUER, SUPPLIER, Clock
    figures = FIGURES["payments across currencies"]
    figures.examples += 1
    path = template.parent / f"example-{next(_copies)}.db"
    shutil.copyfile(template, path)
    engine = create_store_engine(f"sqlite:///{path}")
    clock = Clock(DAY)
    store = SqlStore(engine, SqlLedgerPlugin(clock=clock), clock)
    with store() as uow:  # the corporate's pain.001 debits the buyer and the supplier
        uow.accounts.upsert([replace(a, group=CORPORATE) if a.account in (BUYER, SUPPLIER) else a
                             for a in FX_ACCOUNTS])
        uow.commit()
    config = BridgeConfig(issuer_bic=FX_ISSUER, rates=parse_rate_csv(RATES), rate_tolerance_bps=TOLERANCE_BPS,
                          corporate_senders=frozenset({CORPORATE}))
    bus = MessageBus(MessageReader(), store, config, is_transient=store.is_transient, clock=clock)
    accepted: set[int] = set()
    sent: set[str] = set()
    wallet = {**{a: w for a, (w, _) in WALLET_OF.items()}, **{a: w for w, a in POSITION.values()}}
    try:
        for index, step in enumerate(program):
            where = f"step {index} ({step.intent}) of {program}"
            if step.intent == "expire":
                clock.now = EXPIRED
                continue
            before = Books.read(store)
            outcome = bus.handle(step.body.encode())
            after = Books.read(store)
            check_books(before, after, where)
            statuses = [(t.status, t.reason) for t in outcome.transactions]
            figures.messages[step.intent] += 1
            figures.messages["(all)"] += 1
            figures.transactions.update(f"{s} {r or ''}".strip() for s, r in statuses)
            figures.transactions["(all)"] += len(statuses)
            if step.intent in ("fund", "mint"):
                assert statuses == [(SETTLED, None)], where
                credited = (wallet[step.account], WALLET_OF.get(step.account, ("", None))[1]
                            or next(c for c, (_, a) in POSITION.items() if a == step.account))
                assert after.balance(*credited) == before.balance(*credited) + step.amount, where
                continue
            payment = program[step.resends] if step.intent == "resend" else step
            if step.body in sent:  # the same bytes again: the first answer, nothing applied
                assert outcome.seen_before and after.same_money(before), where
                continue
            sent.add(step.body)
            if step.intent == "resend" and step.resends in accepted:
                assert statuses == [(SETTLED, None)] and after.same_money(before), where
                continue
            debit_ccy, credit_ccy = WALLET_OF[payment.debtor][1], credit_currency(payment)
            legs = "AM03" if clock.now == EXPIRED else expected_legs(payment)
            if isinstance(legs, tuple) and (before.balance(wallet[payment.debtor], debit_ccy) < legs[0]
                                            or before.balance(POSITION[credit_ccy][0], credit_ccy) < legs[1]):
                legs = "AM04"
            if isinstance(legs, str):
                assert statuses == [(REJECTED, legs)] and after.same_money(before), where
                continue
            assert statuses == [(SETTLED, None)], where
            accepted.add(step.resends if step.intent == "resend" else index)
            moves = {(wallet[payment.debtor], debit_ccy): -legs[0], (POSITION[debit_ccy][0], debit_ccy): legs[0],
                     (POSITION[credit_ccy][0], credit_ccy): -legs[1]}
            if payment.elsewhere is None:
                moves[(wallet[payment.creditor], credit_ccy)] = legs[1]
            for (holder, currency), change in moves.items():
                assert after.balance(holder, currency) == before.balance(holder, currency) + change, where
            fiat_legs = [m for m in outcome.emitted if m.message_type.startswith("pacs.008")]
            if payment.elsewhere is None:  # PvP mints nothing
                assert after.supply == before.supply and fiat_legs == [], where
            else:  # the FX position funds the burn its one fiat leg pays
                burnt = dict(before.supply)
                burnt[credit_ccy] -= legs[1]
                assert after.supply == burnt, where
                assert len(fiat_legs) == 1, where
    finally:
        engine.dispose()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()


@campaign(40)
@given(program=pvp_programs())
def test_payments_across_currencies_move_both_legs_or_neither(template, program) -> None:
    run_pvp_program(template, program)
