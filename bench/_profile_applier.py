"""Where ``apply_events`` spends its time: this process's CPU, PostgreSQL's share, per statement.

    .venv/bin/python bench/_profile_applier.py [--trades N] [--batch B] [--runs R] [--profile]
                                               [--statements]
    .venv/bin/python bench/_profile_applier.py --keep            # prepare once, keep it
    .venv/bin/python bench/_profile_applier.py --reuse DATABASE  # then measure from it, again

A helper of ``bench/order_flow.py`` (``make bench`` skips it), whose applier row it measures:
the same database (created, migrated, seeded), orders and events (``applier_events``). The
prepared database is the template of every run: each run starts from a fresh copy of it, so runs
repeat the same work and a change can be measured against the same starting point.

Per run it prints the wall time and this process's CPU time for all the batches (the rest of the
wall time is PostgreSQL and the wait for a core); with ``--statements``, the wall time of each
kind of statement (client side: parse, plan, execute, round trip); with ``--profile``, a cProfile
timed by this process's CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import bench.order_flow as flow  # noqa: E402  (sets the database, prefixes and Django up)
from bench._common import admin_sql  # noqa: E402


def point_at(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def statement_kind(statement: str) -> str:
    words = statement.split()
    if "SAVEPOINT" in words[:2]:
        return " ".join(words[:-1])
    if words[0] == "SELECT" and "FROM" in words:
        return "SELECT FROM " + words[words.index("FROM") + 1]
    if words[0] == "UPDATE":
        return " ".join(words[:2])
    return " ".join(words[:3])[:80]


def backend_cpu_s(pid: int) -> float:
    """CPU time (user + system) of the PostgreSQL backend ``pid`` (same host), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(events: list[tuple], args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.orders.applier import apply_events

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    size = args.batch
    batches = [events[i : i + size] for i in range(0, len(events), size)]
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    capture = CaptureQueriesContext(connection)
    if args.statements:
        capture.__enter__()
    executions = 0
    wall, cpu, pg_cpu = time.perf_counter(), time.process_time(), backend_cpu_s(backend)
    if profiler:
        profiler.enable()
    for batch in batches:
        executions += apply_events(flow.BENCH_SHARD, batch).executions
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg_cpu = backend_cpu_s(backend) - pg_cpu
    if args.statements:
        capture.__exit__(None, None, None)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    n = len(batches)
    print(
        f"{executions} executions: {executions / wall:,.0f}/s; per batch {wall / n * 1000:.1f} ms"
        f" wall, CPU: this process {cpu / n * 1000:.1f} ms, its PostgreSQL backend"
        f" {pg_cpu / n * 1000:.1f} ms (load {load})"
    )
    if args.statements:
        by_kind: dict[str, list[float]] = {}
        for query in capture.captured_queries:
            by_kind.setdefault(statement_kind(query["sql"]), []).append(float(query["time"]))
        for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
            print(
                f"  {len(times) / len(batches):5.1f}/batch {sum(times) / len(batches) * 1000:7.2f}"
                f" ms/batch  {kind}"
            )
    if profiler:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--batch",
        type=int,
        default=flow.APPLY_BATCH,
        help="events per apply_events call (3: a trade with its acceptances, as under order entry)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the prepared database")
    parser.add_argument("--reuse", metavar="DATABASE", help="a database kept by --keep")
    args = parser.parse_args()
    template = args.reuse or flow.DATABASE
    events_file = Path(tempfile.gettempdir()) / f"{template}.events.json"
    if not args.reuse:
        flow.create_database()
        events_file.write_text(json.dumps(flow.applier_events(args.trades)))
    events = [tuple(event) for event in json.loads(events_file.read_text())]
    try:
        for run in range(args.runs):
            copy = f"{template}_run{run}"
            point_at("postgres")
            admin_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
            try:
                point_at(copy)
                measure(events, args)
            finally:
                point_at("postgres")
                admin_sql(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    finally:
        if args.keep or args.reuse:
            print(f"database kept: {template} (drop it and {events_file} when done)")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            events_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
