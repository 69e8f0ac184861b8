"""Where one ``POST /v2/orders`` spends its time: queries, round trips and a cProfile, in-process.

    .venv/bin/python bench/_profile_submit.py [--orders N] [--profile] [--top K]

A helper of ``bench/order_flow.py`` (``make bench`` skips it): the same throwaway database
(created, migrated, seeded with ``seed_demo`` and dropped here), private stream and cache
prefixes, the same request (a non-crossing crypto limit buy, rotating over the retail
accounts' trading keys), served by the project's WSGI handler through Django's test client: the
whole middleware stack, authentication, throttle, validation, risk, commit and publish. No
gunicorn and no matcher or applier, so the numbers are the cost of the request itself.

Prints the queries of one request (SQL, in order), the mean queries per request, the mean wall
time per request and, with ``--profile``, the functions that took the most cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TAG = uuid.uuid4().hex[:8]
DATABASE = f"bench_profile_submit_{TAG}"
PREFIX = f"bench-ps-{TAG}"
CACHE_PREFIX = f"bench-ps-cache-{TAG}"
sys.path.insert(0, str(REPO))
from bench._common import admin_sql, manage, use_database  # noqa: E402

use_database(DATABASE)
os.environ["ENGINE_STREAM_PREFIX"] = PREFIX
os.environ["CACHE_KEY_PREFIX"] = CACHE_PREFIX
os.environ["DEMO_LIQUIDITY"] = "0"
os.environ["DJANGO_DEBUG"] = "0"  # as in production (and bench/order_flow.py); requests are https
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

import django  # noqa: E402

django.setup()

RETAIL = ["DEMO0001", "DEMO0002", "DEMO0003", "DEMO0006"]
SYMBOLS = [("BTC-USD", "0.0001", Decimal("60000.00")), ("ETH-USD", "0.001", Decimal("3000.00"))]


def reuse_database(name: str) -> None:
    """Point Django at a database an earlier ``--keep`` run left behind (migrated, seeded)."""
    from django.db import connections

    use_database(name)  # for manage()
    connections["default"].settings_dict["NAME"] = name
    connections.close_all()


def order_body(n: int) -> str:
    symbol, qty, cross = SYMBOLS[(n // len(RETAIL)) % len(SYMBOLS)]
    price = cross - Decimal("0.01") * (1 + n % 500)
    return json.dumps(
        {
            "symbol": symbol,
            "qty": qty,
            "side": "buy",
            "type": "limit",
            "time_in_force": "gtc",
            "limit_price": str(price),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (named on exit) for --reuse"
    )
    parser.add_argument("--reuse", metavar="DATABASE", help="a database kept by --keep")
    parser.add_argument("--callers", metavar="FUNCTION", help="with --profile: who calls it")
    parser.add_argument("--dump", metavar="FILE", help="with --profile: write the raw stats")
    parser.add_argument(
        "--cpu", action="store_true", help="with --profile: time by CPU, not wall (waits vanish)"
    )
    args = parser.parse_args()
    if args.reuse:
        reuse_database(args.reuse)
    else:
        admin_sql(f'CREATE DATABASE "{DATABASE}"')
    try:
        if not args.reuse:
            manage("migrate", "--noinput", "-v", "0")
            manage("seed_demo")
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from apps.clients.models import RiskLimit

        RiskLimit.objects.update(max_orders_per_second=1_000_000)
        settings.API_KEY_THROTTLE_RATE = "1000000/s"
        credentials = json.loads(manage("demo_credentials", "--json"))
        keys = {k["account_number"]: k for k in credentials["trading"]}
        client = Client()

        def post(n: int):
            key = keys[RETAIL[n % len(RETAIL)]]
            response = client.post(
                "/v2/orders",
                order_body(n),
                content_type="application/json",
                secure=True,
                headers={"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]},
            )
            assert response.status_code == 200, response.content[:300]

        for n in range(20):  # warm: imports, connections, first-use caches
            post(n)
        with CaptureQueriesContext(connection) as one:
            post(20)
        print(f"queries of one request: {len(one)}")
        for query in one.captured_queries:
            print(f"  {query['time']}s  {query['sql'][:160]}")
        with CaptureQueriesContext(connection) as many:
            for n in range(21, 121):
                post(n)
        print(f"mean queries per request over 100: {len(many) / 100:.2f}")
        by_kind: dict[str, list[float]] = {}
        for query in many.captured_queries:
            words = query["sql"].split()  # "SELECT ... FROM <table>", "INSERT INTO <table>"
            if words[0] == "SELECT" and "FROM" in words:
                kind = "select from " + words[words.index("FROM") + 1]
            else:
                kind = " ".join(words[:3])
            by_kind.setdefault(kind[:90], []).append(float(query["time"]))
        for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
            print(f"  {len(times) / 100:5.2f}/req  {sum(times) * 10:6.2f} ms/req  {kind}")

        started, cpu_started = time.perf_counter(), time.process_time()
        for n in range(121, 121 + args.orders):
            post(n)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(
            f"per request, {args.orders} sequential: wall {elapsed / args.orders * 1000:.2f} ms,"
            f" CPU of this process {cpu / args.orders * 1000:.2f} ms (DEBUG={settings.DEBUG};"
            f" load {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
        )
        if args.profile:
            profiler = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
            start = 121 + args.orders
            profiler.enable()
            for n in range(start, start + args.orders):
                post(n)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            if args.dump:
                stats.dump_stats(args.dump)
            print(f"function calls per request: {stats.total_calls / args.orders:,.0f}")
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
            if args.callers:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).print_callers(args.callers)
                print(out.getvalue())
    finally:
        from django.db import connections

        from apps.matching.transport import delete_prefix_keys

        connections.close_all()
        name = connections["default"].settings_dict["NAME"]
        if args.keep or args.reuse:
            print(f"database kept: {name} (drop it when done)")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for keys_prefix in (PREFIX, CACHE_PREFIX):
            delete_prefix_keys(keys_prefix)


if __name__ == "__main__":
    main()
