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


# --- local servers ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on now, for a server the bench starts."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- throwaway databases -----------------------------------------------------------------------
# Benchmarks that need the schema create a database of their own on the server of DATABASE_URL
# (read when this module is first imported, before a script points DATABASE_URL elsewhere), so
# they never read or change the development database.
_SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokerage").rsplit(
    "/", 1
)[0]


def use_database(name: str) -> None:
    """Point this process, and every process it starts from now on, at database ``name``."""
    os.environ["DATABASE_URL"] = f"{_SERVER_URL}/{name}"


def admin_sql(statement: str) -> None:
    """Run ``statement`` on the server's maintenance database (CREATE / DROP DATABASE)."""
    import psycopg

    with psycopg.connect(f"{_SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def manage(*args: str) -> str:
    """``manage.py <args>`` in a subprocess (on the current DATABASE_URL); its stdout."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, check=True, capture_output=True, text=True
    )
    return result.stdout


def cpu_seconds_by_process() -> dict[int, tuple[str, float]]:
    """CPU time (user + system) each process on the machine has used so far, with its program
    (``postgres``, ``redis-server``, ``gunicorn``, ``manage.py run_applier`` ...). Two readings
    around a phase say which processes its work cost, whoever started them."""
    tick = os.sysconf("SC_CLK_TCK")
    readings: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended while we read
            continue
        # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        readings[int(entry.name)] = (_program(stat, argv), seconds)
    return readings


def _program(stat: str, argv: list[bytes]) -> str:
    """A process's program: its command name, or for a Python process the script or module it
    runs (``gunicorn``, ``daphne``, ``manage.py run_applier``)."""
    name = stat.split("(", 1)[1].rsplit(")", 1)[0]
    if name.startswith("kworker"):
        return "kworker"  # the kernel renames them after the work queue they serve
    args = [a.decode(errors="replace") for a in argv if a]
    if not (args and Path(args[0]).name.startswith("python")):
        return name
    rest = args[1:]
    if rest[:1] == ["-m"] and len(rest) > 1:
        return rest[1]
    if rest and rest[0].endswith("manage.py") and len(rest) > 1:
        return f"manage.py {rest[1]}"
    return Path(rest[0]).name if rest else name


def cpu_used_since(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per program since ``before`` (a ``cpu_seconds_by_process`` reading), largest
    first. A process started since counts in full; one that ended in between is missing."""
    used: dict[str, float] = {}
    for pid, (program, seconds) in cpu_seconds_by_process().items():
        used[program] = used.get(program, 0.0) + seconds - before.get(pid, (program, 0.0))[1]
    return dict(sorted(((n, s) for n, s in used.items() if s > 0.005), key=lambda i: -i[1]))
