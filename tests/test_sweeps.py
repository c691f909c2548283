"""Sweeps (bridge.sweeps) on the SQL ledger, SQLite and PostgreSQL: zero-balancing into the
header, top-ups below a floor, thresholds, a member in another currency through PvP, once per
period whoever runs it; a simulated week with two schedulers on one PostgreSQL store and a run
killed between two units of work; rules refused at load with their line. Time moves by an
injected clock, never by sleeping."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.config import check, load_settings
from adapters.sql.engine import create_store_engine, migrate
from adapters.sql.ledger import SqlLedgerPlugin
from adapters.sql.store import SqlStore
from bridge.accounts import parse_registry_rows
from bridge.fx.rates import parse_rate_csv
from bridge.notifications.notices import Notifications
from bridge.operations import MINT, TRANSFER, TokenOperation
from bridge.sweeps.planning import Direction, Move, daily_period, move_of, sweep_key
from bridge.sweeps.report import REPORT_MESSAGE_TYPE
from bridge.sweeps.rules import SweepRulesError, parse_sweep_rules
from bridge.sweeps.schedule import SweepSchedule
from bridge.sweeps.service import SweepContext, run_sweeps
from conftest import SAMPLES

SWEEPS = SAMPLES / "sweeps"
BERLIN = "Europe/Berlin"
TREASURY, DE, FR, US, IT, NORTHWIND = ("w-helix-treasury", "w-helix-de", "w-helix-fr", "w-helix-us",
                                       "w-helix-it", "w-northwind")
MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)  # 08:00 in Berlin
EOD = "[[sweep]]\nname = \"eod\"\nheader = \"w-helix-treasury\"\nmembers = [\"w-helix-de\", \"w-helix-fr\"]\n"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def bank(url: str, clock: Clock) -> SqlStore:
    engine = create_store_engine(url)
    migrate(engine)
    store = SqlStore(engine, SqlLedgerPlugin(clock=clock), clock=clock)
    with (SWEEPS / "accounts.csv").open(newline="") as handle, store() as uow:
        uow.accounts.upsert(parse_registry_rows(csv.DictReader(handle)))
        uow.commit()
    return store


def context(**changes) -> SweepContext:
    rates = parse_rate_csv((SWEEPS / "rates.csv").read_text())
    return SweepContext(**{"timezone": BERLIN, "rates": rates, "notifications": Notifications(), **changes})


def sample_rules():
    return parse_sweep_rules((SWEEPS / "sweeps.toml").read_text())


_serial = iter(range(1, 10**9))


def mint(store: SqlStore, wallet: str, amount: int, currency: str = "EUR") -> None:
    with store() as uow:
        uow.ledger.apply(TokenOperation(f"test-mint-{next(_serial)}-{wallet}", MINT, currency, amount,
                                        credit_wallet=wallet))
        uow.commit()


def pay(store: SqlStore, debit: str, credit: str, amount: int, currency: str = "EUR") -> None:
    with store() as uow:
        outcome = uow.ledger.apply(TokenOperation(f"test-pay-{next(_serial)}", TRANSFER, currency, amount,
                                                  debit, credit))
        assert outcome.rejection is None, outcome.rejection
        uow.commit()


def books(store: SqlStore) -> dict[tuple[str, str], int]:
    with store() as uow:
        return {(b.wallet, b.currency): b.balance for b in uow.ledger.balances()}


def invariants(store: SqlStore) -> None:
    """Supply == sum of balances per currency; no negative balance, no held beyond balance."""
    with store() as uow:
        balances, supply = uow.ledger.balances(), uow.ledger.supply()
    for currency in {b.currency for b in balances} | set(supply):
        assert sum(b.balance for b in balances if b.currency == currency) == supply.get(currency, 0)
    assert all(b.balance >= 0 and 0 <= b.held <= b.balance for b in balances)


def sweep_keys(store: SqlStore) -> list[str]:
    with store() as uow:
        return [p.operation_key for p in uow.ledger.journal()
                if p.operation_key.startswith("sweep:") and not p.operation_key.endswith("/fx")
                and p.amount < 0]


# -- rules -----------------------------------------------------------------------------------

def test_the_sample_rules_read():
    daily, working = sample_rules()
    assert daily.members == (DE, FR, US) and daily.target == Decimal("0.00") and daily.at.hour == 17
    assert working.threshold == Decimal("5000.00") and working.floor == Decimal("2000.00") and working.at is None


@pytest.mark.parametrize("text, line, words", [
    (EOD + "target = \"0\"\nat = \"25:00\"\n", 6, "HH:MM"),
    (EOD + "target = 0.5\nat = \"17:00\"\n", 5, "decimal string"),
    (EOD + "target = \"0\"\n", 1, "either `at`"),
    ("# rules\n\n" + EOD + "target = \"0\"\nat = \"17:00\"\ncolour = \"red\"\n", 9, "unknown key"),
    (EOD + "target = \"0\"\nat = \"17:00\"\n" + EOD.replace("eod", "eod") + "target = \"0\"\nat = \"18:00\"\n",
     7, "second rule"),
    (EOD + "target = \"0\"\nat = \"17:00\"\nthreshold = \n", 7, "not TOML"),
    (EOD + "target = \"100\"\nfloor = \"200\"\nthreshold = \"1\"\n", 6, "above the target"),
])
def test_invalid_rules_are_refused_with_their_line(text, line, words):
    with pytest.raises(SweepRulesError, match=f"line {line}.*{words}|{words}.*line {line}"):
        parse_sweep_rules(text)


def test_invalid_sweeps_file_refuses_the_configuration(tmp_path):
    path = tmp_path / "sweeps.toml"
    path.write_text(EOD + "target = \"zero\"\nat = \"17:00\"\n")
    with pytest.raises(ValueError, match=r"TOKENBRIDGE_SWEEPS .*line 5"):
        check(load_settings({"TOKENBRIDGE_SWEEPS": str(path)}))


# -- planning (pure) ----------------------------------------------------------------------------

def test_moves_floor_and_threshold():
    daily, working = sample_rules()
    assert move_of(daily, "EUR", 12_345, 12_345) == Move(Direction.TO_HEADER, 12_345)
    assert move_of(daily, "EUR", 12_345, 10_000) == Move(Direction.TO_HEADER, 10_000)  # held stays
    assert move_of(daily, "EUR", 0, 0) is None
    assert move_of(working, "EUR", 1_500_000, 1_500_000) is None  # 5,000 over: not beyond
    assert move_of(working, "EUR", 1_500_001, 1_500_001) == Move(Direction.TO_HEADER, 500_001)
    assert move_of(working, "EUR", 250_000, 250_000) is None  # below target, above the floor
    assert move_of(working, "EUR", 199_999, 199_999) == Move(Direction.TOP_UP, 800_001)


def test_daily_period_begins_at_its_time_in_the_bank_time_zone():
    at = sample_rules()[0].at
    assert daily_period(at, datetime(2026, 11, 30, 16, 29, tzinfo=timezone.utc), BERLIN) is None
    assert daily_period(at, datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc), BERLIN) == "2026-11-30"
    assert len(sweep_key("r" * 32, "0x" + "a" * 40, "2026-11-30+123456789")) <= 97


# -- runs on the SQL ledger ------------------------------------------------------------------

def test_daily_zero_balancing_once_per_period(store_url):
    clock = Clock(MONDAY.replace(hour=16, minute=45))  # 17:45 in Berlin
    store = bank(store_url, clock)
    mint(store, DE, 120_000)
    mint(store, FR, 3_050)
    rules = sample_rules()[:1]
    run = run_sweeps(store, rules, clock(), context())
    assert [(r.member, r.result, r.amount) for r in run.results] == [(DE, "applied", 120_000),
                                                                     (FR, "applied", 3_050)]
    assert books(store)[(TREASURY, "EUR")] == 123_050 and books(store)[(DE, "EUR")] == 0
    mint(store, DE, 500)  # later the same evening: the period is swept already
    again = run_sweeps(store, rules, clock(), context())
    assert {r.result for r in again.results} == {"done"}
    assert books(store)[(DE, "EUR")] == 500
    with store() as uow:  # each sweep notified with camt.054 (debit and credit accounts)
        notices = [m for m in uow.outbox.pending(1000) if m.message_type.startswith("camt.054")]
    assert len(notices) >= 4
    invariants(store)


def test_top_up_below_floor_and_threshold_crossings(store_url):
    clock = Clock(MONDAY)
    store = bank(store_url, clock)
    mint(store, TREASURY, 5_000_000)
    working = sample_rules()[1:]
    mint(store, IT, 150_000)  # below the 2,000.00 floor: topped up to 10,000.00
    run = run_sweeps(store, working, clock(), context())
    assert [(r.direction, r.amount, r.result) for r in run.results] == [(Direction.TOP_UP, 850_000, "applied")]
    assert books(store)[(IT, "EUR")] == 1_000_000
    assert run_sweeps(store, working, clock(), context()).results == []  # at target: nothing
    mint(store, IT, 500_000)  # exactly 5,000.00 over: not beyond the threshold
    assert run_sweeps(store, working, clock(), context()).results == []
    mint(store, IT, 1)  # now beyond: a new crossing, swept
    clock.now += timedelta(minutes=1)
    (crossing,) = run_sweeps(store, working, clock(), context()).results
    assert (crossing.direction, crossing.amount, crossing.result) == (Direction.TO_HEADER, 500_001, "applied")
    assert books(store)[(IT, "EUR")] == 1_000_000
    assert len(set(sweep_keys(store))) == len(sweep_keys(store)) == 2
    invariants(store)


def test_member_in_another_currency_sweeps_through_pvp(store_url):
    clock = Clock(MONDAY.replace(hour=17))
    store = bank(store_url, clock)
    mint(store, US, 100_000, "USD")  # 1,000.00 USD
    mint(store, "fx-eur", 10_000_000)  # the bank's EUR position pays the header's leg
    run = run_sweeps(store, sample_rules()[:1], clock(), context())
    (us,) = [r for r in run.results if r.member == US]
    assert (us.result, us.amount, us.header_currency, us.header_amount) == ("applied", 100_000, "EUR", 92_000)
    held = books(store)
    assert held[(US, "USD")] == 0 and held[(TREASURY, "EUR")] == 92_000 and held[("fx-usd", "USD")] == 100_000
    invariants(store)


def test_rule_over_wallets_of_two_customers_is_refused(store_url):
    clock = Clock(MONDAY.replace(hour=17))
    store = bank(store_url, clock)
    mint(store, NORTHWIND, 1_000)
    rules = parse_sweep_rules(EOD.replace("w-helix-fr", NORTHWIND) + "target = \"0\"\nat = \"17:00\"\n")
    (refused,) = run_sweeps(store, rules, clock(), context()).results
    assert (refused.result, refused.reason) == ("refused", "AG01")
    assert books(store)[(NORTHWIND, "EUR")] == 1_000


def test_dry_run_shows_and_changes_nothing(store_url):
    clock = Clock(MONDAY.replace(hour=17))
    store = bank(store_url, clock)
    mint(store, DE, 7_000)
    mint(store, US, 1_000, "USD")
    mint(store, "fx-eur", 100_000)
    before = books(store)
    run = run_sweeps(store, sample_rules()[:1], clock(), context(), dry_run=True)
    assert [(r.member, r.result, r.header_amount) for r in run.results] == [(DE, "planned", 7_000),
                                                                            (US, "planned", 920)]
    assert books(store) == before
    with store() as uow:
        assert uow.outbox.pending(100) == []


# -- a week, two workers, a kill ----------------------------------------------------------------

class Killed(Exception):
    """A worker killed between two units of work."""


class KilledAfter:
    """The store as a worker sees it, killed when it opens its `n`-th unit of work."""

    def __init__(self, store: SqlStore, n: int) -> None:
        self.store, self.left = store, n

    def __call__(self):
        self.left -= 1
        if self.left < 0:
            raise Killed
        return self.store()


def test_a_week_with_two_workers_and_a_kill(postgres_url):
    clock = Clock(MONDAY)
    store = bank(postgres_url, clock)
    other = SqlStore(create_store_engine(postgres_url), SqlLedgerPlugin(clock=clock), clock=clock)
    rules, ctx = sample_rules(), context()
    mint(store, TREASURY, 10_000_000)
    mint(store, NORTHWIND, 100_000_000)
    mint(store, "fx-eur", 100_000_000)
    mint(store, IT, 1_000_000)
    workers = [SweepSchedule(store, rules, ctx, clock), SweepSchedule(other, rules, ctx, clock)]
    reports = []
    for day in range(7):
        for hour in range(0, 24, 2):
            clock.now = MONDAY.replace(hour=0) + timedelta(days=day, hours=hour, minutes=day)
            if hour < 16:  # the day's business, before the evening sweep (17:30 in Berlin)
                pay(store, NORTHWIND, DE, 10_000 + 100 * hour + day)
                pay(store, NORTHWIND, FR, 2_500 + day)
            if hour == 10:
                mint(store, US, 50_000 + day, "USD")
                outflow = min(850_000 if day % 3 == 0 else 290_000, books(store)[(IT, "EUR")] - 1)
                pay(store, IT, NORTHWIND, outflow)  # may cross the floor
            if hour == 12:
                pay(store, NORTHWIND, IT, 900_000 if day % 2 else 1)  # may cross the threshold
            if day == 3 and hour == 18:
                # Thursday's evening run is killed after its first sweep has committed.
                killed = SweepSchedule(KilledAfter(other, 2), rules, ctx, clock)
                with pytest.raises(Killed):
                    killed.run()
                assert len([k for k in sweep_keys(store) if "2026-12-03" in k and "eod" in k]) == 1
            for worker in workers:
                reports += worker.run()
            invariants(store)
        # After the evening run: every subsidiary zero-balanced, the Italian at its working level.
        clock.now = MONDAY.replace(hour=22) + timedelta(days=day)
        for worker in workers:
            reports += worker.run()
        held = books(store)
        assert held[(DE, "EUR")] == held[(FR, "EUR")] == held[(US, "USD")] == 0
        assert 200_000 <= held[(IT, "EUR")] <= 1_500_000
        invariants(store)
    keys = sweep_keys(store)
    assert len(keys) == len(set(keys))  # no sweep doubled
    for day in range(7):  # each member, each evening, once
        date = (MONDAY + timedelta(days=day)).date().isoformat()
        assert sorted(k for k in keys if k.startswith("sweep:helix-eod:") and k.endswith(date)) == [
            f"sweep:helix-eod:{member}:{date}" for member in sorted((DE, FR, US))]
    working = [k for k in keys if k.startswith("sweep:helix-it-working:")]
    assert len(working) >= 4  # floors and thresholds crossed during the week
    assert reports and all(r.message_type == REPORT_MESSAGE_TYPE for r in reports)
    applied = sum(json.loads(r.body)["counts"].get("applied", 0) for r in reports)
    assert applied == len(keys) - 1  # all but the killed run's sweep, which it could not report
    other.engine.dispose()
    store.engine.dispose()


# -- the command -------------------------------------------------------------------------------

def test_sweep_command_dry_run_then_now(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from adapters.cli import cli
    monkeypatch.setenv("TOKENBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("TOKENBRIDGE_SWEEPS", str(SWEEPS / "sweeps.toml"))
    monkeypatch.setenv("TOKENBRIDGE_RATES", str(SWEEPS / "rates.csv"))
    monkeypatch.setenv("TOKENBRIDGE_TIMEZONE", BERLIN)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)
    assert invoke("ledger", "init").exit_code == 0
    assert invoke("accounts", "import", str(SWEEPS / "accounts.csv")).exit_code == 0
    store = SqlStore(create_store_engine(f"sqlite:///{tmp_path / 'ledger.db'}"), SqlLedgerPlugin())
    mint(store, DE, 4_200)
    dry = invoke("sweep", "--now", "--dry-run")
    assert dry.exit_code == 0 and "planned" in dry.output and "42.00 EUR" in dry.output
    assert books(store)[(DE, "EUR")] == 4_200
    done = json.loads(invoke("sweep", "--now", "--json").output)
    assert [(s["member"], s["result"], s["amount"], s["reason"]) for s in done["sweeps"]] == [
        (DE, "applied", "42.00", None), (IT, "refused", "10000.00", "AM04")]  # the header is short
    assert books(store)[(TREASURY, "EUR")] == 4_200
    with store() as uow:
        assert [m.message_type for m in uow.outbox.pending(100)].count(REPORT_MESSAGE_TYPE) == 1
    again = json.loads(invoke("sweep", "--now", "--json").output)
    assert [s["result"] for s in again["sweeps"]] == ["done", "refused"]
    store.engine.dispose()


def test_sweep_command_refuses_a_bad_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from adapters.cli import cli
    path = tmp_path / "sweeps.toml"
    path.write_text(EOD + "target = \"0\"\nat = \"7pm\"\n")
    monkeypatch.setenv("TOKENBRIDGE_SWEEPS", str(path))
    result = CliRunner().invoke(cli, ["sweep", "--dry-run"])
    assert result.exit_code == 2 and "line 6" in result.output
