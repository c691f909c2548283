"""The RabbitMQ commands: `topology`, `worker`, `publish`, `dead list|show|redrive`, `replies`."""
from __future__ import annotations

import multiprocessing
import re
import signal
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from adapters.cli.common import files_or_usage_error, settings, store_or_exit
from adapters.config import Settings
from adapters.files import read_bounded
from adapters.rabbitmq.channel import (CONNECTION_ERRORS, confirmed_channel, connect, redacted_url,
                                       wait_for_broker)
from adapters.rabbitmq.dead_letters import find_dead, list_dead, redrive, with_ids
from adapters.rabbitmq.replies import Reply, browse, follow
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
    """Consume from RabbitMQ until SIGTERM/SIGINT; finish and ack in-flight work; exit 0. A
    broker not up yet is waited for, with back-off."""
    current = settings()
    with store_or_exit(current):
        pass  # fail fast (exit 1) when the store is not initialised
    waiting = threading.Event()  # a shutdown request while the broker is not up yet
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: waiting.set())
    reachable = wait_for_broker(current.amqp_url, waiting)
    if reachable is None:
        return  # stopped before the broker came up: nothing in flight
    reachable.close()
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


PUBLISH_PROGRESS_FROM = 20
"""Show a progress bar when publishing at least this many files (as `replay` does)."""


@click.command()
@click.argument("paths", nargs=-1, required=True)
def publish(paths: tuple[str, ...]) -> None:
    """Publish files to the inbound exchange, as bank middleware does."""
    files = files_or_usage_error(paths)
    current = settings()
    connection, channel, names = _channel(current)
    count = 0
    # On standard error, so that standard output stays one line a script can read.
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), transient=True,
                  console=Console(stderr=True), disable=len(files) < PUBLISH_PROGRESS_FROM) as progress:
        task = progress.add_task("publishing", total=len(files))
        for path in files:  # one file read at a time: a long run never holds them all
            count += publish_files(channel, names, [(str(path), read_bounded(path, current.max_message_bytes))])
            progress.advance(task)
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
    """Publish dead letters back to the inbound queue; they keep their identity. Exit 1 when
    an id names no dead letter (the others named are re-driven)."""
    if not letter_ids and not everything:
        raise click.UsageError("name dead letter ids, or --all")
    connection, channel, names = _channel(settings())
    chosen = with_ids(letter_ids)
    done = redrive(channel, names, lambda letter: everything or chosen(letter))
    connection.close()
    click.echo(f"re-drove {len(done)} message(s): {' '.join(done)}")
    unknown = [i for i in letter_ids if not any(d.startswith(i) for d in done)]
    if unknown:  # a mistyped id must not look like success to a script
        raise click.ClickException(f"no dead letter {', '.join(unknown)} in {names.dead}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _file_name(position: int, reply: Reply) -> str:
    """`<n>-<type>-<message id>.<xml|json>`: sorted, the files keep the order read."""
    extension = "json" if (reply.content_type or "").endswith("json") else "xml"
    return (f"{position:04d}-{_UNSAFE.sub('_', reply.routing_key)[:60]}-"
            f"{_UNSAFE.sub('_', reply.message_id or 'no-id')[:60]}.{extension}")


@click.command()
@click.option("--queue", "queue", metavar="NAME",
              help="Read the messages waiting in this queue (e.g. tokenbridge.out), leaving them "
                   "there. Without it: a temporary queue sees what is published from now on.")
@click.option("--take", is_flag=True, help="With --queue: remove the messages read.")
@click.option("--type", "binding", default="#", show_default=True, metavar="T",
              help="Routing key pattern (the message type): pacs.002.#, admi.002.001.01, report.*")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N messages.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=None,
              help="Stop when none came for S seconds (default: 10 following, 0 with --queue).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each message here as <n>-<type>-<message id>.xml (or .json).")
def replies(queue: str | None, take: bool, binding: str, count: int | None, wait_s: float | None,
            out_dir: Path | None) -> None:
    """Read what the bridge publishes on its outbound exchange: one line per message (type,
    message id, correlation id, size). Exit 1 when --count messages did not come."""
    if take and queue is None:
        raise click.UsageError("--take needs --queue: a temporary queue holds only what it read")
    connection, channel, names = _channel(settings())
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if queue is None:
        found = follow(channel, names, binding, count=count, idle_s=10.0 if wait_s is None else wait_s,
                       ready=lambda name: click.echo(
                           f"following {names.outbound} ({binding}) through {name}", err=True))
    else:
        found = browse(channel, queue, binding, count=count, take=take, idle_s=wait_s or 0.0)
    read = 0
    try:
        for read, reply in enumerate(found, start=1):
            click.echo(f"{reply.routing_key}  {reply.message_id or '-'}  "
                       f"correlation={reply.correlation_id or '-'}  {len(reply.body)} bytes")
            if out_dir is not None:
                (out_dir / _file_name(read, reply)).write_bytes(reply.body)
    finally:
        connection.close()
    where = queue or names.outbound
    click.echo(f"{read} message(s) from {where}" + (" (left there)" if queue and not take else ""),
               err=True)
    if count is not None and read < count:
        raise SystemExit(1)
