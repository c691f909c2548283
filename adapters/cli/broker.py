"""The RabbitMQ commands: `topology`, `worker`, `publish`, `dead list|show|redrive`."""
from __future__ import annotations

import multiprocessing
import signal
import threading

import click

from adapters.cli.common import files_or_usage_error, settings, store_or_exit
from adapters.config import Settings
from adapters.files import read_bounded
from adapters.rabbitmq.channel import CONNECTION_ERRORS, confirmed_channel, connect, redacted_url
from adapters.rabbitmq.dead_letters import find_dead, list_dead, redrive, with_ids
from adapters.rabbitmq.topology import MigrationPending, Names, declare
from adapters.rabbitmq.worker import Worker, WorkerOptions, describe_headers, publish_files
from bridge.delivery import RetryPolicy


def _options(current: Settings) -> WorkerOptions:
    return WorkerOptions(names=Names(current.amqp_prefix), prefetch=current.prefetch,
                         batch_size=current.batch_size, max_message_bytes=current.max_message_bytes,
                         retry=RetryPolicy(max_attempts=current.max_attempts))


def _channel(current: Settings, *, migrated: bool = False):
    """A confirmed channel with the topology declared. With `migrated`, an inbound exchange
    that cannot be migrated yet ends the command (exit 1); otherwise it is a warning."""
    try:
        connection = connect(current.amqp_url, attempts=3)
    except CONNECTION_ERRORS as error:
        raise click.ClickException(f"broker {redacted_url(current.amqp_url)} unreachable: "
                                   f"{type(error).__name__}") from None
    channel = confirmed_channel(connection)
    options = _options(current)
    try:
        declare(channel, options.names, options.retry.delays_s)
    except MigrationPending as pending:
        if migrated:
            connection.close()
            raise click.ClickException(f"{pending}; run `tokenbridge topology` again then") from None
        click.echo(f"warning: {pending}", err=True)
    return connection, channel, options.names


@click.command()
def topology() -> None:
    """Declare exchanges and queues (idempotent); migrate an older inbound exchange to fanout."""
    current = settings()
    connection, _, names = _channel(current, migrated=True)
    connection.close()
    click.echo(f"declared {names.inbound}, {names.outbound}, {names.dead}, {names.retry}.* "
               f"on {redacted_url(current.amqp_url)}")


def _run_worker(index: int, metrics_port: int) -> None:
    """One worker process: its own store engine, message bus and broker connection."""
    from adapters.bootstrap import build_bus, settlement_round
    from adapters.logs import configure_logging
    from adapters.metrics import WorkerMetrics
    configure_logging(None)
    current = settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    metrics = WorkerMetrics()
    if metrics_port:
        metrics.serve(metrics_port + index)
    with store_or_exit(current) as store:
        bus = build_bus(current, store)
        worker = Worker(bus, store, current.amqp_url, _options(current), metrics,
                        settle=settlement_round(store, bus))
        worker.run(stop)


@click.command()
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Competing consumer processes.")
def worker(workers: int) -> None:
    """Consume from RabbitMQ until SIGTERM/SIGINT; finish and ack in-flight work; exit 0."""
    current = settings()
    with store_or_exit(current):
        pass  # fail fast (exit 1) when the store is not initialised
    connection, _, _ = _channel(current)
    connection.close()
    if workers == 1:
        _run_worker(0, current.metrics_port)
        return
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_run_worker, args=(i, current.metrics_port), daemon=False)
                 for i in range(workers)]
    for process in processes:
        process.start()

    def forward(_signum, _frame) -> None:
        for process in processes:  # each child stops gracefully on SIGTERM
            if process.is_alive():
                process.terminate()
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    raise SystemExit(1 if failed else 0)


@click.command()
@click.argument("paths", nargs=-1, required=True)
def publish(paths: tuple[str, ...]) -> None:
    """Publish files to the inbound exchange, as bank middleware does."""
    files = files_or_usage_error(paths)
    current = settings()
    connection, channel, names = _channel(current)
    count = publish_files(channel, names, [(str(p), read_bounded(p, current.max_message_bytes))
                                           for p in files])
    connection.close()
    click.echo(f"published {count} message(s) to {names.inbound} (confirmed)")


@click.group()
def dead() -> None:
    """Inspect and re-drive dead-lettered messages."""


@dead.command("list")
def dead_list() -> None:
    connection, channel, names = _channel(settings())
    letters = list_dead(channel, names)
    connection.close()
    for letter in letters:
        click.echo(f"{letter.id}  {letter.reason[:150]}")
    click.echo(f"{len(letters)} dead letter(s) in {names.dead}")


@dead.command("show")
@click.argument("letter_id")
def dead_show(letter_id: str) -> None:
    connection, channel, names = _channel(settings())
    letter = find_dead(channel, names, letter_id)
    connection.close()
    if letter is None:
        raise click.ClickException(f"no dead letter {letter_id}")
    click.echo(f"id: {letter.id}\nreason: {letter.reason}\nmessage_id: {letter.properties.message_id}\n"
               f"headers: {describe_headers(letter.headers)}\n--- first 2000 bytes ---")
    click.echo(letter.body[:2000].decode("utf-8", errors="replace"))


@dead.command("redrive")
@click.argument("letter_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True)
def dead_redrive(letter_ids: tuple[str, ...], everything: bool) -> None:
    """Publish dead letters back to the inbound queue; they keep their identity."""
    if not letter_ids and not everything:
        raise click.UsageError("name dead letter ids, or --all")
    connection, channel, names = _channel(settings())
    chosen = with_ids(letter_ids)
    done = redrive(channel, names, lambda letter: everything or chosen(letter))
    connection.close()
    click.echo(f"re-drove {len(done)} message(s): {' '.join(done)}")
