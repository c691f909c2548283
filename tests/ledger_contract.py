"""The Ledger port's contract: what every ledger adapter must do, as a reusable test class.

An adapter's test module subclasses `LedgerContract` and provides the `unit_of_work` fixture:
a callable returning a context-managed UnitOfWork whose `.ledger` is the adapter under test.
Tests commit explicitly; leaving the block without commit must roll back. Adapters that can
take a clock should use the `clock` fixture (strictly increasing times, one second apart), but
the contract only relies on the timestamps the ledger reports in its journal.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bridge.money import LEDGER_MAX_UNITS
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, TokenOperation
from bridge.ports import (APPLIED, PAYMENT_ROAD, REPLAYED, STATEMENT_ROAD, MintClaim, PaymentClaim,
                          UnitOfWork, issuance_holder)

ALICE, BRUNO, CHIYO = "w-alice", "w-bruno", "w-chiyo"
_counter = iter(range(1, 10**9))


class ManualClock:
    """A clock for adapters that accept one: each reading is one second after the last."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                 step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def refs(tag: str) -> PaymentRefs:
    return PaymentRefs(message_id=f"MSG-{tag}", end_to_end_id=f"E2E-{tag}", transaction_id=f"TX-{tag}",
                       uetr=f"00000000-0000-4000-8000-{zlib.crc32(tag.encode()):012d}",
                       instruction_id=f"INSTR-{tag}", account_servicer_ref=f"ASR-{tag}")


def mint(amount: int, to: str = ALICE, currency: str = "EUR", key: str | None = None) -> TokenOperation:
    key = key or f"k-{next(_counter)}"
    return TokenOperation(key, MINT, currency, amount, credit_wallet=to, refs=refs(key))


def transfer(amount: int, frm: str = ALICE, to: str = BRUNO, currency: str = "EUR",
             key: str | None = None) -> TokenOperation:
    key = key or f"k-{next(_counter)}"
    return TokenOperation(key, TRANSFER, currency, amount, debit_wallet=frm, credit_wallet=to,
                          refs=refs(key))


def burn(amount: int, frm: str = BRUNO, currency: str = "EUR", key: str | None = None) -> TokenOperation:
    key = key or f"k-{next(_counter)}"
    return TokenOperation(key, BURN, currency, amount, debit_wallet=frm, refs=refs(key))


class LedgerContract:
    """Behaviour every Ledger adapter must show. Subclass and provide `unit_of_work`."""

    @pytest.fixture()
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture()
    def unit_of_work(self) -> Callable[[], UnitOfWork]:
        raise NotImplementedError("a LedgerContract subclass must provide the unit_of_work fixture")

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def apply(uow_factory, *ops: TokenOperation):
        """Apply operations in one committed unit of work; their outcomes."""
        with uow_factory() as uow:
            outcomes = [uow.ledger.apply(op) for op in ops]
            uow.commit()
        return outcomes[0] if len(outcomes) == 1 else outcomes

    @staticmethod
    def balances(uow_factory, as_of: datetime | None = None) -> dict[tuple[str, str], int]:
        with uow_factory() as uow:
            return {(b.wallet, b.currency): b.balance for b in uow.ledger.balances(as_of=as_of)
                    if b.balance != 0}

    @staticmethod
    def supply(uow_factory, as_of: datetime | None = None) -> dict[str, int]:
        with uow_factory() as uow:
            return {c: v for c, v in uow.ledger.supply(as_of=as_of).items() if v != 0}

    @staticmethod
    def journal(uow_factory, **kw):
        with uow_factory() as uow:
            return uow.ledger.journal(**kw)

    def snapshot(self, uow_factory):
        """Everything observable through the port."""
        return (self.balances(uow_factory), self.supply(uow_factory),
                [(p.sequence, p.operation_key, p.holder, p.currency, p.amount)
                 for p in self.journal(uow_factory)])

    def times(self, uow_factory) -> dict[str, datetime]:
        """When each operation was posted, from the journal."""
        return {p.operation_key: p.posted_at for p in self.journal(uow_factory)}

    # -- effects ---------------------------------------------------------------------------

    def test_mint_transfer_burn_move_balances_and_supply(self, unit_of_work) -> None:
        assert self.balances(unit_of_work) == {} and self.supply(unit_of_work) == {}
        assert self.apply(unit_of_work, mint(125000)).result == APPLIED
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 125000}
        assert self.supply(unit_of_work) == {"EUR": 125000}
        outcome = self.apply(unit_of_work, transfer(20050))
        assert (outcome.result, outcome.rejection, outcome.status) == (APPLIED, None, "ACSC")
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 104950, (BRUNO, "EUR"): 20050}
        assert self.supply(unit_of_work) == {"EUR": 125000}  # a transfer issues nothing
        assert self.apply(unit_of_work, burn(5025)).result == APPLIED
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 104950, (BRUNO, "EUR"): 15025}
        assert self.supply(unit_of_work) == {"EUR": 119975}

    def test_amounts_are_exact_integer_minor_units(self, unit_of_work) -> None:
        big = 2**53 + 1  # not representable as a float: no float anywhere on the way
        self.apply(unit_of_work, mint(150000, CHIYO, "JPY"), mint(12345, CHIYO, "KWD"),
                   mint(big, ALICE, "EUR"), mint(1, ALICE, "JPY"))
        balances = self.balances(unit_of_work)
        assert balances == {(CHIYO, "JPY"): 150000, (CHIYO, "KWD"): 12345, (ALICE, "EUR"): big,
                            (ALICE, "JPY"): 1}
        assert all(type(v) is int for v in balances.values())
        supply = self.supply(unit_of_work)
        assert supply == {"JPY": 150001, "KWD": 12345, "EUR": big}
        assert all(type(v) is int for v in supply.values())
        assert all(type(p.amount) is int for p in self.journal(unit_of_work))

    def test_a_wallet_holds_each_currency_apart(self, unit_of_work) -> None:
        self.apply(unit_of_work, mint(500, ALICE, "EUR"), mint(700, ALICE, "JPY"))
        with unit_of_work() as uow:
            listed = sorted((b.wallet, b.currency, b.balance) for b in uow.ledger.balances())
        assert listed == [(ALICE, "EUR", 500), (ALICE, "JPY", 700)]
        assert self.apply(unit_of_work, transfer(600, currency="EUR")).rejection.reason == "AM04"

    # -- idempotency -----------------------------------------------------------------------

    def test_same_key_same_content_is_replayed_without_effect(self, unit_of_work) -> None:
        op = mint(1000)
        self.apply(unit_of_work, op, transfer(300))
        before = self.snapshot(unit_of_work)
        with unit_of_work() as uow:
            recorded = uow.ledger.find(op.key)
        for _ in range(2):
            outcome = self.apply(unit_of_work, op)
            assert (outcome.result, outcome.rejection, outcome.status) == (REPLAYED, None, "ACSC")
        # The same payment re-sent under other message references is still the same payment.
        resent = TokenOperation(op.key, op.kind, op.currency, op.amount, op.debit_wallet,
                                op.credit_wallet, refs("resent"))
        assert self.apply(unit_of_work, resent).result == REPLAYED
        assert self.snapshot(unit_of_work) == before
        with unit_of_work() as uow:
            assert uow.ledger.find(op.key) == recorded

    def test_replay_within_one_unit_of_work(self, unit_of_work) -> None:
        op = mint(1000)
        first, second = self.apply(unit_of_work, op, op)
        assert (first.result, second.result) == (APPLIED, REPLAYED)
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 1000}
        assert len(self.journal(unit_of_work, wallet=ALICE)) == 1

    def test_same_key_other_content_is_rejected_am05(self, unit_of_work) -> None:
        original = transfer(300)
        self.apply(unit_of_work, mint(1000), mint(1000, BRUNO), mint(1000, ALICE, "JPY"), original)
        before = self.snapshot(unit_of_work)
        others = {
            "amount": transfer(301, key=original.key),
            "currency": transfer(300, currency="JPY", key=original.key),
            "kind": burn(300, ALICE, key=original.key),
            "debit": transfer(300, BRUNO, ALICE, key=original.key),
            "credit": transfer(300, ALICE, CHIYO, key=original.key),
            "mint": mint(300, BRUNO, key=original.key),
        }
        for change, other in others.items():
            outcome = self.apply(unit_of_work, other)
            assert (outcome.result, outcome.status, outcome.rejection.reason) == (
                "rejected", "RJCT", "AM05"), change
            assert outcome.rejection.info
            assert self.snapshot(unit_of_work) == before, change
        with unit_of_work() as uow:
            assert uow.ledger.find(original.key).operation == original
        assert self.apply(unit_of_work, original).result == REPLAYED  # the original still replays

    def test_debit_beyond_balance_is_rejected_am04_and_the_key_stays_usable(self, unit_of_work) -> None:
        self.apply(unit_of_work, mint(1000), mint(50, BRUNO, "JPY"))
        before = self.snapshot(unit_of_work)
        too_much = transfer(1001)
        attempts = [too_much, burn(1001, ALICE), transfer(1, BRUNO, ALICE),  # BRUNO has no EUR
                    transfer(1, CHIYO, ALICE),  # CHIYO holds nothing at all
                    transfer(10, ALICE, BRUNO, "JPY"), burn(51, BRUNO, "JPY")]
        for op in attempts:
            outcome = self.apply(unit_of_work, op)
            assert (outcome.result, outcome.status, outcome.rejection.reason) == ("rejected", "RJCT", "AM04"), op
            assert self.snapshot(unit_of_work) == before
            with unit_of_work() as uow:
                assert uow.ledger.find(op.key) is None
        # Exactly the balance is enough; and a refused key can be used once funds arrived.
        assert self.apply(unit_of_work, burn(50, BRUNO, "JPY")).result == APPLIED
        self.apply(unit_of_work, mint(1))
        assert self.apply(unit_of_work, too_much).result == APPLIED
        assert self.apply(unit_of_work, too_much).result == REPLAYED
        assert self.balances(unit_of_work) == {(BRUNO, "EUR"): 1001}
        assert self.supply(unit_of_work) == {"EUR": 1001}

    def test_a_rejection_leaves_the_other_operations_of_its_unit_intact(self, unit_of_work) -> None:
        first, refused, last = self.apply(unit_of_work, mint(100), transfer(101), mint(5, BRUNO))
        assert (first.result, refused.rejection.reason, last.result) == (APPLIED, "AM04", APPLIED)
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 100, (BRUNO, "EUR"): 5}
        assert len(self.journal(unit_of_work)) == 2

    def test_find_returns_the_recorded_operation(self, unit_of_work) -> None:
        ops = [mint(1000), transfer(250), burn(100)]
        with unit_of_work() as uow:
            assert uow.ledger.find(ops[0].key) is None
        self.apply(unit_of_work, *ops)
        with unit_of_work() as uow:
            found = [uow.ledger.find(op.key) for op in ops]
            assert uow.ledger.find("never-used") is None
        assert [f.operation for f in found] == ops  # kind, wallets, amount, currency and refs
        assert all(f.status == "ACSC" for f in found)
        assert [f.sequence for f in found] == sorted({f.sequence for f in found})
        assert all(f.applied_at.tzinfo is not None for f in found)

    # -- one payment, one mint: claimed payment references -----------------------------------

    @staticmethod
    def claims(uow_factory, *references: str) -> list[PaymentClaim]:
        with uow_factory() as uow:
            return uow.ledger.find_claims(list(references))

    def test_a_mint_claims_its_payment_references(self, unit_of_work) -> None:
        op = mint(1000)
        claim = MintClaim(PAYMENT_ROAD, (f"uetr:{op.key}", f"e2e:{op.key}"))
        with unit_of_work() as uow:
            assert uow.ledger.find_claims(list(claim.references)) == []
            assert uow.ledger.apply(op, claim).result == APPLIED
            # The unit sees its own claims at once, in the order asked, a reference once.
            assert uow.ledger.find_claims([f"e2e:{op.key}", "free", f"uetr:{op.key}", f"e2e:{op.key}"]) == [
                PaymentClaim(f"e2e:{op.key}", op.key, PAYMENT_ROAD),
                PaymentClaim(f"uetr:{op.key}", op.key, PAYMENT_ROAD)]
            uow.commit()
        assert self.claims(unit_of_work, *claim.references) == [
            PaymentClaim(f"uetr:{op.key}", op.key, PAYMENT_ROAD), PaymentClaim(f"e2e:{op.key}", op.key, PAYMENT_ROAD)]
        assert self.apply(unit_of_work, op).result == REPLAYED  # a replay claims nothing new
        assert self.claims(unit_of_work, "never-claimed") == []

    def test_two_pacs008_mints_sharing_a_reference_both_apply_and_the_first_keeps_it(self, unit_of_work) -> None:
        first, second, third = mint(100), mint(100), mint(100)
        shared = MintClaim(PAYMENT_ROAD, ("e2e:shared",))
        assert [o.result for o in self.apply(unit_of_work, first, first)] == [APPLIED, REPLAYED]
        with unit_of_work() as uow:  # a pacs.008's keys tell payments apart, not references
            assert uow.ledger.apply(first, shared).result == REPLAYED
            uow.commit()
        with unit_of_work() as uow:
            assert uow.ledger.apply(second, shared).result == APPLIED
            assert uow.ledger.apply(third, MintClaim(PAYMENT_ROAD, ("e2e:shared", "uetr:third"))).result == APPLIED
            uow.commit()
        assert self.supply(unit_of_work) == {"EUR": 300}
        assert self.claims(unit_of_work, "e2e:shared", "uetr:third") == [
            PaymentClaim("e2e:shared", second.key, PAYMENT_ROAD), PaymentClaim("uetr:third", third.key, PAYMENT_ROAD)]

    @pytest.mark.parametrize("roads", [(PAYMENT_ROAD, STATEMENT_ROAD), (STATEMENT_ROAD, PAYMENT_ROAD),
                                       (STATEMENT_ROAD, STATEMENT_ROAD)])
    def test_another_roads_mint_of_a_claimed_payment_is_am05_and_changes_nothing(self, unit_of_work,
                                                                                  roads) -> None:
        held, other = mint(500), mint(500)
        with unit_of_work() as uow:
            uow.ledger.apply(held, MintClaim(roads[0], ("asr:SVC-1", "uetr:u-1")))
            refused = uow.ledger.apply(other, MintClaim(roads[1], ("e2e:free", "uetr:u-1")))  # same unit
            assert (refused.result, refused.rejection.reason) == ("rejected", "AM05")
            uow.commit()
        before = self.snapshot(unit_of_work)
        with unit_of_work() as uow:  # a later unit
            refused = uow.ledger.apply(other, MintClaim(roads[1], ("uetr:u-1",)))
            assert (refused.result, refused.rejection.reason) == ("rejected", "AM05")
            uow.commit()
        assert self.snapshot(unit_of_work) == before and self.supply(unit_of_work) == {"EUR": 500}
        with unit_of_work() as uow:
            assert uow.ledger.find(other.key) is None
        assert self.claims(unit_of_work, "uetr:u-1", "e2e:free") == [PaymentClaim("uetr:u-1", held.key, roads[0])]

    def test_a_rolled_back_mint_claims_nothing(self, unit_of_work) -> None:
        op = mint(10)
        with unit_of_work() as uow:
            uow.ledger.apply(op, MintClaim(STATEMENT_ROAD, ("uetr:rolled-back",)))
        assert self.claims(unit_of_work, "uetr:rolled-back") == []
        assert self.apply(unit_of_work, mint(10, BRUNO)).result == APPLIED
        with unit_of_work() as uow:
            assert uow.ledger.apply(op, MintClaim(PAYMENT_ROAD, ("uetr:rolled-back",))).result == APPLIED
            uow.commit()
        assert self.claims(unit_of_work, "uetr:rolled-back") == [
            PaymentClaim("uetr:rolled-back", op.key, PAYMENT_ROAD)]

    def test_a_claim_taken_meanwhile_fails_the_later_unit_transiently(self, unit_of_work) -> None:
        """Two units look, find nothing, and mint one payment by two roads: the second to claim
        fails with an error its store retries; the retry finds the first's claim."""
        booked, paid = mint(700), mint(700)
        references = ("e2e:raced", "uetr:raced")
        with unit_of_work() as uow:
            connection = getattr(uow, "connection", None)  # an in-memory unit has none
            one_writer = connection is not None and connection.dialect.name == "sqlite"
        if one_writer:  # BEGIN IMMEDIATE: the second unit starts after the first commits
            with unit_of_work() as first:
                assert first.ledger.apply(booked, MintClaim(STATEMENT_ROAD, references)).result == APPLIED
                first.commit()
            with unit_of_work() as later:
                assert [c.operation_key for c in later.ledger.find_claims(list(references))] == [booked.key] * 2
            assert self.supply(unit_of_work) == {"EUR": 700}
            return
        with unit_of_work() as first, unit_of_work() as second:
            assert first.ledger.find_claims(list(references)) == second.ledger.find_claims(list(references)) == []
            assert first.ledger.apply(booked, MintClaim(STATEMENT_ROAD, references)).result == APPLIED
            first.commit()
            with pytest.raises(Exception) as lost:  # noqa: B017 - which error is the store's to say
                second.ledger.apply(paid, MintClaim(PAYMENT_ROAD, references))
                second.commit()
            assert unit_of_work.is_transient(lost.value), lost.value
        assert self.supply(unit_of_work) == {"EUR": 700}
        with unit_of_work() as uow:  # the retry
            assert [c.operation_key for c in uow.ledger.find_claims(list(references))] == [booked.key] * 2
            assert uow.ledger.find(paid.key) is None

    # -- journal ---------------------------------------------------------------------------

    def test_journal_per_wallet_and_currency_with_refs(self, unit_of_work) -> None:
        m, j, t, b = mint(1000), mint(500, CHIYO, "JPY"), transfer(300), burn(100)
        for op in (m, j, t, b):  # one unit each: distinct, increasing times
            self.apply(unit_of_work, op)
        ops = {op.key: op for op in (m, j, t, b)}

        alice = self.journal(unit_of_work, wallet=ALICE)
        assert [(p.operation_key, p.kind, p.holder, p.counterparty, p.currency, p.amount) for p in alice] == [
            (m.key, MINT, ALICE, issuance_holder("EUR"), "EUR", 1000),
            (t.key, TRANSFER, ALICE, BRUNO, "EUR", -300)]
        bruno = self.journal(unit_of_work, wallet=BRUNO)
        assert [(p.operation_key, p.kind, p.counterparty, p.amount) for p in bruno] == [
            (t.key, TRANSFER, ALICE, 300), (b.key, BURN, issuance_holder("EUR"), -100)]
        for posting in alice + bruno:
            assert posting.refs == ops[posting.operation_key].refs
            assert posting.posted_at.tzinfo is not None

        eur = self.journal(unit_of_work, currency="EUR")  # every wallet, not the issuance side
        assert sorted((p.operation_key, p.holder, p.amount) for p in eur) == sorted([
            (m.key, ALICE, 1000), (t.key, ALICE, -300), (t.key, BRUNO, 300), (b.key, BRUNO, -100)])
        assert [p.operation_key for p in eur] == [m.key, t.key, t.key, b.key]
        assert [p.sequence for p in eur] == sorted({p.sequence for p in eur})
        assert [(p.holder, p.amount) for p in self.journal(unit_of_work, currency="JPY")] == [(CHIYO, 500)]
        assert self.journal(unit_of_work, wallet=ALICE, currency="JPY") == []
        assert self.journal(unit_of_work, currency="USD") == []
        assert self.journal(unit_of_work, wallet="w-nobody") == []
        assert {p.operation_key for p in self.journal(unit_of_work)} == set(ops)

        # The journal adds up to the balances.
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for p in self.journal(unit_of_work):
            totals[p.holder, p.currency] += p.amount
        assert {k: v for k, v in totals.items() if v} == self.balances(unit_of_work)

    def test_journal_bounds_start_inclusive_end_exclusive(self, unit_of_work) -> None:
        m, t, b = mint(1000), transfer(300), burn(100)
        for op in (m, t, b):
            self.apply(unit_of_work, op)
        at = self.times(unit_of_work)
        t1, t2, t3 = at[m.key], at[t.key], at[b.key]
        assert t1 < t2 < t3

        def keys(**kw) -> list[str]:
            return [p.operation_key for p in self.journal(unit_of_work, currency="EUR", **kw)]

        assert keys(start=t2) == [t.key, t.key, b.key]
        assert keys(end=t2) == [m.key]
        assert keys(start=t2, end=t3) == [t.key, t.key]
        assert keys(start=t2, end=t2) == []
        assert keys(start=t1, end=t3 + timedelta(microseconds=1)) == [m.key, t.key, t.key, b.key]
        assert keys(start=t3 + timedelta(microseconds=1)) == []
        assert [p.operation_key for p in self.journal(unit_of_work, wallet=BRUNO, start=t2, end=t3)] == [t.key]
        # Bounds are instants: the same instant in another zone selects the same postings.
        plus2 = timezone(timedelta(hours=2))
        assert keys(start=t2.astimezone(plus2), end=t3.astimezone(plus2)) == [t.key, t.key]

    # -- history ---------------------------------------------------------------------------

    def test_balances_and_supply_as_of_a_time(self, unit_of_work) -> None:
        steps = [mint(1000), mint(700, CHIYO, "JPY"), transfer(300), burn(100), burn(200, CHIYO, "JPY"),
                 transfer(50, BRUNO, ALICE)]
        states = []
        for op in steps:
            self.apply(unit_of_work, op)
            states.append((self.balances(unit_of_work), self.supply(unit_of_work)))
        at = self.times(unit_of_work)
        moments = [at[op.key] for op in steps]
        assert moments == sorted(set(moments))
        assert self.balances(unit_of_work, as_of=moments[0]) == {}
        assert self.supply(unit_of_work, as_of=moments[0]) == {}
        for index, moment in enumerate(moments):
            # as_of is exclusive: at the instant of an operation it is not yet included ...
            if index:
                assert self.balances(unit_of_work, as_of=moment) == states[index - 1][0]
                assert self.supply(unit_of_work, as_of=moment) == states[index - 1][1]
            # ... and just after it, it is.
            after = moment + (moments[index + 1] - moment) / 2 if index + 1 < len(moments) \
                else moment + timedelta(days=1)
            assert self.balances(unit_of_work, as_of=after) == states[index][0]
            assert self.supply(unit_of_work, as_of=after) == states[index][1]
        assert states[-1] == ({(ALICE, "EUR"): 750, (BRUNO, "EUR"): 150, (CHIYO, "JPY"): 500},
                              {"EUR": 900, "JPY": 500})
        plus9 = timezone(timedelta(hours=9))
        assert self.balances(unit_of_work, as_of=moments[3].astimezone(plus9)) == states[2][0]

    def test_supply_equals_the_sum_of_balances_per_currency(self, unit_of_work) -> None:
        self.apply(unit_of_work, mint(1000), mint(2000, BRUNO), mint(900, CHIYO, "JPY"),
                   transfer(700, BRUNO, CHIYO), burn(300, ALICE), burn(900, CHIYO, "JPY"),
                   mint(5, ALICE, "JPY"))
        self.apply(unit_of_work, burn(5, ALICE, "JPY"))
        moments = sorted(set(self.times(unit_of_work).values()))
        for as_of in [None, *moments, moments[-1] + timedelta(seconds=1)]:
            with unit_of_work() as uow:
                sums: dict[str, int] = defaultdict(int)
                for b in uow.ledger.balances(as_of=as_of):
                    assert b.balance >= 0
                    sums[b.currency] += b.balance
                supply = uow.ledger.supply(as_of=as_of)
            assert {c: v for c, v in sums.items() if v} == {c: v for c, v in supply.items() if v}, as_of
        assert self.supply(unit_of_work) == {"EUR": 2700}

    # -- units of work ---------------------------------------------------------------------

    def test_rollback_leaves_nothing_behind(self, unit_of_work) -> None:
        self.apply(unit_of_work, mint(10, BRUNO))
        before = self.snapshot(unit_of_work)
        ops = [mint(1000), transfer(300), burn(100)]
        with unit_of_work() as uow:
            assert [uow.ledger.apply(op).result for op in ops] == [APPLIED] * 3
            # Inside the unit, its own effects are visible.
            assert uow.ledger.find(ops[1].key) is not None
            assert {(b.wallet, b.currency): b.balance for b in uow.ledger.balances()} == {
                (ALICE, "EUR"): 700, (BRUNO, "EUR"): 210}
            assert uow.ledger.supply() == {"EUR": 910}
            # leaving without commit rolls back
        assert self.snapshot(unit_of_work) == before
        with unit_of_work() as uow:
            uow.ledger.apply(mint(5))
            uow.rollback()  # an explicit rollback, too
        assert self.snapshot(unit_of_work) == before
        with pytest.raises(RuntimeError), unit_of_work() as uow:
            uow.ledger.apply(mint(7))
            raise RuntimeError("boom")  # an exception rolls back
        assert self.snapshot(unit_of_work) == before
        with unit_of_work() as uow:
            assert all(uow.ledger.find(op.key) is None for op in ops)
        # Nothing was consumed: the keys apply afresh.
        assert [o.result for o in self.apply(unit_of_work, *ops)] == [APPLIED] * 3
        assert self.balances(unit_of_work) == {(ALICE, "EUR"): 700, (BRUNO, "EUR"): 210}

    # -- range -----------------------------------------------------------------------------

    def test_a_balance_or_supply_beyond_the_range_is_refused_am02(self, unit_of_work) -> None:
        """No supply, and so no wallet balance, ever passes LEDGER_MAX_UNITS (10^18 - 1 minor
        units, the largest ISO amount): a mint that would take it beyond is refused AM02,
        nothing applied, and its key stays usable; exactly the maximum is fine."""
        top = LEDGER_MAX_UNITS
        self.apply(unit_of_work, mint(top - 10, ALICE, "JPY"))
        before = self.snapshot(unit_of_work)
        attempts = [mint(11, ALICE, "JPY"),  # ALICE past the maximum (and the supply)
                    mint(11, BRUNO, "JPY"),  # the supply past it; BRUNO alone would be fine
                    mint(top, CHIYO, "JPY")]
        for op in attempts:
            outcome = self.apply(unit_of_work, op)
            assert (outcome.result, outcome.status, outcome.rejection.reason) == (
                "rejected", "RJCT", "AM02"), op
            assert outcome.rejection.info
            assert self.snapshot(unit_of_work) == before
            with unit_of_work() as uow:
                assert uow.ledger.find(op.key) is None
        # Several operations of one unit count together; the other currencies are untouched.
        first, second, other = self.apply(unit_of_work, mint(6, BRUNO, "JPY"), mint(5, CHIYO, "JPY"),
                                          mint(top, CHIYO, "EUR"))
        assert (first.result, second.rejection.reason, other.result) == (APPLIED, "AM02", APPLIED)
        assert self.supply(unit_of_work) == {"JPY": top - 4, "EUR": top}
        # A wallet may hold exactly the maximum (no more: a wallet holds at most the supply).
        # A burn frees room once final (EVM: once confirmed), so its mint comes in a later unit.
        self.apply(unit_of_work, transfer(6, BRUNO, ALICE, "JPY"), burn(top, CHIYO, "EUR"))
        self.apply(unit_of_work, mint(4, ALICE, "JPY"), mint(top, BRUNO, "EUR"))
        balances = self.balances(unit_of_work)
        assert balances == {(ALICE, "JPY"): top, (BRUNO, "EUR"): top}
        assert self.supply(unit_of_work) == {"JPY": top, "EUR": top}
        assert all(type(v) is int for v in [*balances.values(), *self.supply(unit_of_work).values()])
        # Money can leave and come back: the range bounds the balances, not the traffic.
        self.apply(unit_of_work, transfer(top, ALICE, BRUNO, "JPY"), transfer(top, BRUNO, ALICE, "JPY"))
        self.apply(unit_of_work, burn(top, ALICE, "JPY"))
        self.apply(unit_of_work, mint(top, BRUNO, "JPY"))
        assert self.balances(unit_of_work) == {(BRUNO, "JPY"): top, (BRUNO, "EUR"): top}
        assert self.supply(unit_of_work) == {"JPY": top, "EUR": top}
        later = datetime(2100, 1, 1, tzinfo=UTC)  # from the postings: exact sums, whatever the traffic
        assert self.balances(unit_of_work, as_of=later) == {(BRUNO, "JPY"): top, (BRUNO, "EUR"): top}
        assert self.supply(unit_of_work, as_of=later) == {"JPY": top, "EUR": top}
