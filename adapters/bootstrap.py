"""The one place that chooses and wires adapters from configuration."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from adapters.config import Settings, load_rates, load_sweeps
from adapters.sql.engine import create_store_engine, is_migrated, redacted
from adapters.sql.store import SqlAccountRegistry, SqlInbox, SqlOutbox, SqlStore
from adapters.sql.transaction import sql_connection
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.iso.pacs002 import parse_reply_versions
from bridge.cancellations.handler import RETURN
from bridge.iso.pacs004_writer import parse_return_versions
from bridge.messages import OutboundMessage
from bridge.bus import MessageBus
from bridge.cancellations.follow_ups import CancellationFollowUps
from bridge.config import BridgeConfig
from bridge.holds.schedule import HoldSchedule
from bridge.ports import LedgerPlugin, SettlingLedger, StoreTransaction
from bridge.settlement.changes import SettlementChange
from bridge.settlement.follow_ups import SettlementFollowUps
from bridge.sweeps.schedule import SweepSchedule
from bridge.sweeps.service import SweepContext

LEDGER_GROUP = "tokenbridge.ledgers"


class ConfigurationError(RuntimeError):
    """Configuration that cannot work: unknown ledger, store not initialised, ..."""


def ledger_plugin(settings: Settings) -> LedgerPlugin:
    """The ledger adapter named by TOKENBRIDGE_LEDGER, found in the `tokenbridge.ledgers`
    entry-point group (so a bank can add its own rail without forking)."""
    found = {ep.name: ep for ep in entry_points(group=LEDGER_GROUP)}
    if settings.ledger not in found:
        raise ConfigurationError(f"unknown ledger {settings.ledger!r}; installed: "
                                 f"{', '.join(sorted(found)) or 'none'}")
    plugin = found[settings.ledger].load()(settings)
    if not isinstance(plugin, LedgerPlugin):
        raise ConfigurationError(f"ledger {settings.ledger!r} ({found[settings.ledger].value}) has "
                                 "no ledger_for(transaction): not a bridge.ports.LedgerPlugin")
    return plugin


def open_store(settings: Settings, *, require_schema: bool = True) -> SqlStore:
    engine = create_store_engine(settings.database_url)
    if require_schema and not is_migrated(engine):
        raise ConfigurationError(f"the store at {redacted(settings.database_url)} is not "
                                 "initialised: run `tokenbridge ledger init`")
    return SqlStore(engine, ledger_plugin(settings))


def bridge_config(settings: Settings) -> BridgeConfig:
    return BridgeConfig(
        issuer_bic=settings.issuer_bic,
        allowed_senders=settings.allowed_sender_bics,
        statement_senders=settings.statement_sender_bics,
        corporate_senders=settings.corporate_channels,
        reply_versions=parse_reply_versions(settings.reply_versions) if settings.reply_versions else {},
        notifications=settings.notifying,
        notification_version=NOTIFICATION.version(settings.notification_version),
        max_message_bytes=settings.max_message_bytes,
        return_on_cancellation=settings.cancellation_policy == RETURN,
        return_versions=parse_return_versions(settings.return_versions) if settings.return_versions else {},
        rates=load_rates(settings.rates),
        rate_tolerance_bps=settings.rate_tolerance_bps,
        timezone=settings.timezone,
    )


def build_bus(settings: Settings, store: SqlStore) -> MessageBus:
    config = bridge_config(settings)
    return MessageBus(config.reader(), store, config, is_transient=store.is_transient, clock=store.clock)


def settlement_round(store: SqlStore, bus: MessageBus) -> Callable[[], list[OutboundMessage]] | None:
    """For a ledger that settles after the answer (a `SettlingLedger`, as the EVM ledger is):
    a function running one settlement round and returning the follow-up pacs.002s (and the
    camt.029s of cancellations it decided) it committed to the outbox, and the camt.054s of the
    operations that became final, for the worker to publish. None for a ledger whose answer is
    final (SQL)."""
    if not isinstance(store.ledger_plugin, SettlingLedger):
        return None
    settler = store.ledger_plugin.settler(store)
    follow_ups = SettlementFollowUps(bus.reader, bus.config, bus.clock)
    cancellations = CancellationFollowUps(bus.reader, bus.config, bus.clock)
    committed: list[OutboundMessage] = []

    def report(transaction: StoreTransaction, changes: Sequence[SettlementChange]) -> None:
        connection = sql_connection(transaction)  # the settler's, in the store
        inbox, outbox = SqlInbox(connection, store.clock), SqlOutbox(connection, store.clock)
        committed.extend(follow_ups.report(list(changes), inbox, outbox))
        committed.extend(cancellations.report(list(changes), inbox, outbox))
        if bus.notifications is not None:
            for notice in bus.notifications.of_changes(changes, SqlAccountRegistry(connection),
                                                       store.clock()):
                outbox.add(notice)
                committed.append(notice)

    settler.on_changes = report

    def settle() -> list[OutboundMessage]:
        committed.clear()
        try:
            settler.settle()
        except BaseException:
            # What did commit is in the outbox: the sweep publishes it.
            committed.clear()
            raise
        return list(committed)

    if hasattr(settler, "take_alerts"):  # chain alerts (EVM), for the worker's metric
        settle.take_alerts = settler.take_alerts  # type: ignore[attr-defined]
    return settle


def hold_schedule(settings: Settings, store: SqlStore, bus: MessageBus) -> HoldSchedule:
    """The scheduler of holds (value dates, expiries) over the store, with the bus's clock."""
    return HoldSchedule(store, SettlementFollowUps(bus.reader, bus.config, bus.clock), bus.clock,
                        settings.holds_interval_s)


def sweep_context(settings: Settings, bus: MessageBus) -> SweepContext:
    """What a sweep run needs besides the store: time zone, rates, the bus's camt.054 writer."""
    return SweepContext(timezone=settings.timezone, rates=bus.config.rates,
                        rate_tolerance_bps=settings.rate_tolerance_bps, notifications=bus.notifications)


def sweep_schedule(settings: Settings, store: SqlStore, bus: MessageBus) -> SweepSchedule:
    """The scheduler of the sweep rules (TOKENBRIDGE_SWEEPS), with the bus's clock."""
    return SweepSchedule(store, load_sweeps(settings.sweeps), sweep_context(settings, bus), bus.clock,
                         settings.sweeps_interval_s)


def scheduled_rounds(settings: Settings, store: SqlStore,
                     bus: MessageBus) -> Callable[[], list[OutboundMessage]]:
    """What the worker runs after each batch and when idle: the holds due (at most every
    TOKENBRIDGE_HOLDS_INTERVAL_S), the sweeps (at most every TOKENBRIDGE_SWEEPS_INTERVAL_S),
    then a settlement round on a ledger that settles later."""
    holds = hold_schedule(settings, store, bus)
    sweeps = sweep_schedule(settings, store, bus)
    settle = settlement_round(store, bus)

    def rounds() -> list[OutboundMessage]:
        emitted = holds.run_if_due() + sweeps.run_if_due()
        return emitted + (settle() if settle is not None else [])

    if settle is not None and hasattr(settle, "take_alerts"):  # the chain's alerts, for the metric
        rounds.take_alerts = settle.take_alerts  # type: ignore[attr-defined]
    return rounds


def broker_inspection(settings: Settings):
    """The broker's queues and dead letters, as the console reads and re-drives them."""
    from adapters.rabbitmq.inspection import BrokerInspection
    from adapters.rabbitmq.topology import Names
    from bridge.delivery import RetryPolicy
    return BrokerInspection(settings.amqp_url, Names(settings.amqp_prefix),
                            RetryPolicy(max_attempts=settings.max_attempts).delays_s)


def console_context(settings: Settings, store: SqlStore):
    """What the HTTP API works with (`tokenbridge serve`)."""
    from adapters.http.context import ConsoleContext
    config = bridge_config(settings)
    return ConsoleContext(store=store, reader=config.reader(),
                          broker=broker_inspection(settings), ledger_name=settings.ledger,
                          clock=store.clock, config=config)
