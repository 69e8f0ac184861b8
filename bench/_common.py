"""What every benchmark script shares: the machine description, latency percentiles and the
results file. (Scripts named with a leading underscore are helpers: `make bench` skips them.)"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"


def machine() -> str:
    """CPU model, cores and Python, as each result row records it."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cpus, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def percentiles(samples_ns: list[int]) -> tuple[float | None, float | None, float | None]:
    """p50, p99 and p99.9 in microseconds (None without samples)."""
    if not samples_ns:
        return None, None, None
    ordered = sorted(samples_ns)
    n = len(ordered)
    p50, p99, p999 = (
        round(ordered[min(n - 1, int(q * n))] / 1000.0, 2) for q in (0.50, 0.99, 0.999)
    )
    return p50, p99, p999


def write_rows(name: str, rows: list[dict]) -> Path:
    """Write ``bench/results/<name>.json``: the list of rows the benchmarks share."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    return path
