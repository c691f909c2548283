"""What every benchmark shares: the machine it ran on, and median/min/max of repeated runs."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from importlib.metadata import version


def machine() -> dict:
    """Cores, CPU, Python and the versions that decide the figures."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass

    def tool(command: list[str]) -> str | None:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    rabbit = tool(["rabbitmqctl", "version"])
    postgres = tool(["psql", "--version"])
    return {
        "cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "packages": {name: version(name) for name in
                     ("lxml", "xmlschema", "sqlalchemy", "pika", "psycopg", "structlog")},
        "rabbitmq": rabbit, "postgresql": postgres.split()[-1] if postgres else None,
    }


def spread(values: Sequence[float]) -> dict:
    """median, min, max and every run, of repeated measurements (shared, noisy machines)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of the (sorted) values fall (nearest rank)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _proc_stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds used) of a Linux process, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / ticks


def cpu_by_part(worker_pid: int) -> dict[str, float]:
    """CPU seconds used so far by each part of an end-to-end run on this machine: the worker
    (its process tree), the broker (Erlang VM), the database server (PostgreSQL) and this
    process (the load generator: publisher and reply consumer). Linux /proc; {} elsewhere."""
    if not os.path.isdir("/proc"):
        return {}
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _proc_stat(int(p)))}
    parts = {"worker": 0.0, "broker": 0.0, "database": 0.0, "load generator": 0.0}

    def under(pid: int, ancestor: int) -> bool:
        while pid > 1:
            if pid == ancestor:
                return True
            pid = stats[pid][0] if pid in stats else 1
        return False
    for pid, (_, name, seconds) in stats.items():
        if under(pid, worker_pid):
            parts["worker"] += seconds
        elif name in ("beam.smp", "erl_child_setup", "epmd", "inet_gethost"):
            parts["broker"] += seconds
        elif name.startswith("postgres"):
            parts["database"] += seconds
        elif pid == os.getpid():
            parts["load generator"] += seconds
    return parts
