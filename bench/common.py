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
