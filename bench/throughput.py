"""Issue 19's single-machine measurement: the worker beside the two prototypes, in ONE run.

The stream: single-transaction pacs.008.001.08 mints to 50 wallets, half bare Documents and half
in a SWIFT envelope with a head.001.001.02 AppHdr, preloaded on the broker. Each contender (one
fresh `tokenbridge worker` on SQLite, bench/prototype.py bare, bench/prototype.py naive) gets the
same stream on fresh queues and a fresh SQLite file, and is timed from its first reply to its
last. CPU per message is the contender's process tree over that window (/proc). The machine is
shared and loaded: only the ratios within one run mean anything.

Then (unless --no-split) the worker alone on all-bare and all-enveloped streams (CPU per message
each), and (unless --no-paced) p99 publish-to-reply at --offered msg/s on SQLite and PostgreSQL.

    .venv/bin/python bench/throughput.py [--quick] [--messages 20000] [--naive-messages N]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import pika  # noqa: E402

from adapters.rabbitmq.channel import PERSISTENT, confirmed_channel, connect  # noqa: E402
from adapters.rabbitmq.publisher import ConfirmedPublisher  # noqa: E402
from adapters.rabbitmq.topology import IN_ROUTING_KEY, Names, declare  # noqa: E402
from broker import AMQP_URL, delete_names  # noqa: E402
from builders import Tx, app_header, pacs008, swift_envelope  # noqa: E402
from common import cpu_by_part, machine  # noqa: E402
from replay import FATIMA, fresh_postgres, register_wallets  # noqa: E402
from worker import POSTGRES, WORKER, finish, run_once  # noqa: E402

WALLETS = 50


def wallet_ibans() -> list[str]:
    from schwifty import IBAN
    return [str(IBAN.generate("DE", bank_code="50019900", account_code=f"{8000 + i:010d}"))
            for i in range(WALLETS)]


def stream(count: int, enveloped: float = 0.5) -> list[bytes]:
    """`count` mints to the 50 wallets in turn; a share `enveloped` of them (in tenths) in a
    SWIFT envelope, interleaved: half and half by default."""
    ibans, out = wallet_ibans(), []
    for i in range(count):
        msg_id = f"B19-{uuid.uuid4().hex[:20]}"  # also the BizMsgIdr: replies correlate by either
        document = pacs008([Tx(amount="10.00", debtor_iban=FATIMA, creditor_iban=ibans[i % WALLETS])],
                           msg_id=msg_id)
        if (i % 10) < enveloped * 10:
            document = swift_envelope(document, app_header(biz_msg_id=msg_id))
        out.append(document.encode())
    return out


def seed_worker_store(url: str) -> None:
    """The sample registry and the 50 wallets (tokenized, EUR)."""
    register_wallets(url, wallet_ibans(), "b19")


def preloaded(bodies: list[bytes], command: list[str], env: dict, timeout_s: float,
              profiled: bool = False) -> dict:
    """Publish `bodies` to fresh queues, then start `command` on them: rate from its first reply
    to its last, and its process tree's CPU per message over that window."""
    prefix = f"tb19-{uuid.uuid4().hex[:8]}"
    names = Names(prefix)
    connection = connect(AMQP_URL, attempts=3)
    declare(confirmed_channel(connection), names, (1, 5, 15, 30, 60, 120))
    publisher = ConfirmedPublisher(connection)
    ids = [b.split(b"<MsgId>")[1].split(b"</MsgId>")[0].decode() for b in bodies]
    for first in range(0, len(bodies), 500):
        for body, msg_id in zip(bodies[first:first + 500], ids[first:first + 500]):
            publisher.publish(names.inbound, IN_ROUTING_KEY, body,
                              pika.BasicProperties(delivery_mode=PERSISTENT, message_id=msg_id))
        publisher.wait()
    received: dict[str, float] = {}
    cpu: list[dict] = []
    settled: set[str] = set()
    process = subprocess.Popen(command, env={**os.environ, **env, "TOKENBRIDGE_AMQP_PREFIX": prefix},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

    def consume() -> None:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        deadline = time.monotonic() + timeout_s
        for method, props, body in ch.consume(names.outbound, inactivity_timeout=0.2):
            if method is not None and (props.type or "").startswith("pacs.002"):  # not the camt.054s
                if b"<TxSts>ACSC</TxSts>" in body:
                    settled.add(props.correlation_id)
                if not received:
                    cpu.append(cpu_by_part(process.pid))
                received.setdefault(props.correlation_id, time.perf_counter())
            if method is not None:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if len(received) >= len(bodies) or time.monotonic() > deadline:
                break
        cpu.append(cpu_by_part(process.pid))
        conn.close()
    consumer = threading.Thread(target=consume)
    consumer.start()
    consumer.join()
    wrapped = _children(process.pid) if profiled else []
    for child in wrapped:  # under py-spy: stop the worker; py-spy then writes its file and ends
        os.kill(child, signal.SIGTERM)
    if not wrapped:
        process.terminate()
    finish(process, connection, prefix)
    if len(received) < len(bodies):
        raise RuntimeError(f"only {len(received)} of {len(bodies)} answered")
    if len(settled) < len(bodies):
        raise RuntimeError(f"only {len(settled)} of {len(bodies)} settled (ACSC)")
    times = sorted(received.values())
    window = times[-1] - times[0]
    answered = len(bodies) - 1  # replies after the first one, over the window
    return {"rate": answered / window, "seconds": window,
            **{f"cpu_us, {part}": (cpu[1][part] - cpu[0][part]) / answered * 1e6 for part in cpu[0]}}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def worker(bodies: list[bytes], tmp: str, name: str, profile: str | None = None) -> dict:
    """`profile`: py-spy's collapsed stacks of the worker (and its threads) written there."""
    url = f"sqlite:///{tmp}/{name}.db"
    seed_worker_store(url)
    command = WORKER if profile is None else [
        str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "--rate", "250",
        "--nonblocking", "-o", profile, "--", *WORKER]
    return preloaded(bodies, command, {"TOKENBRIDGE_DATABASE_URL": url}, max(120, len(bodies) / 50),
                     profiled=profile is not None)


def prototype(mode: str, bodies: list[bytes], tmp: str) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "prototype.py"), mode, f"{tmp}/{mode}.db"]
    return preloaded(bodies, command, {}, max(120, len(bodies) / 20))


def compared(bodies: list[bytes], naive_count: int, tmp: str) -> tuple[dict, dict, dict]:
    """The worker, the bare prototype and the naive one (on the first `naive_count` messages),
    one after the other on the same stream: what the issue's ratios are made of."""
    return (worker(bodies, tmp, "mixed"), prototype("bare", bodies, tmp),
            prototype("naive", bodies[:naive_count], tmp))


def line(label: str, got: dict, reference: float | None = None) -> str:
    ratio = f"; {got['rate'] / reference:.2f}x the bare prototype" if reference else ""
    return (f"  {label:<26} {got['rate']:8,.0f} msg/s over {got['seconds']:6.1f} s; CPU per message "
            f"(µs): own {got['cpu_us, worker']:,.0f}, broker {got['cpu_us, broker']:,.0f}{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 messages, a smoke run")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--naive-messages", type=int, default=None)
    parser.add_argument("--offered", type=float, default=1000.0)
    parser.add_argument("--paced-messages", type=int, default=None)
    parser.add_argument("--no-split", action="store_true")
    parser.add_argument("--no-paced", action="store_true")
    parser.add_argument("--only-worker", action="store_true", help="the worker alone")
    parser.add_argument("--profile", help="with --only-worker: py-spy collapsed stacks to this file")
    args = parser.parse_args()
    count = args.messages or (2000 if args.quick else 20000)
    naive_count = args.naive_messages or (400 if args.quick else 4000)
    paced = args.paced_messages or (1000 if args.quick else 5000)
    from adapters.logs import configure_logging
    configure_logging("warning")
    m = machine()
    print(f"issue 19 on {m['cores']} cores ({m['cpu']}), Python {m['python']}, RabbitMQ {m['rabbitmq']}, "
          f"PostgreSQL {m['postgresql']}; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    bodies = stream(count)
    print(f"mixed stream: {count:,} single-tx pacs.008.001.08 mints, half enveloped, {WALLETS} wallets, preloaded",
          flush=True)
    if args.only_worker:
        with tempfile.TemporaryDirectory() as tmp:
            print(line("tokenbridge worker", worker(bodies, tmp, "mixed", args.profile)), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        got, bare, naive = compared(bodies, naive_count, tmp)
        print(line("tokenbridge worker", got, bare["rate"]), flush=True)
        print(line("bare prototype", bare), flush=True)
        print(line(f"naive prototype ({naive_count:,})", naive), flush=True)
        print(f"  worker / bare {got['rate'] / bare['rate']:.2f} (target 0.8), worker / naive "
              f"{got['rate'] / naive['rate']:.1f} (target 15)", flush=True)
        if not args.no_split:
            half = count // 2
            for label, share in (("all bare", 0.0), ("all enveloped", 1.0)):
                split = worker(stream(half, share), tmp, label.replace(" ", "-"))
                print(line(f"worker, {label} ({half:,})", split), flush=True)
    if not args.no_paced:
        for store in ("sqlite", "postgresql"):
            with tempfile.TemporaryDirectory() as tmp:
                url, drop = (f"sqlite:///{tmp}/paced.db", lambda: None) if store == "sqlite" else fresh_postgres(POSTGRES)
                try:
                    seed_worker_store(url)
                    r = run_once(url, 1, paced, offered=args.offered, bodies=stream(paced))
                finally:
                    drop()
            print(f"  {store:<10} {args.offered:,.0f} msg/s offered ({paced:,} mixed): answered {r['rate']:,.0f} msg/s; "
                  f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms (target 50)", flush=True)


if __name__ == "__main__":
    main()
