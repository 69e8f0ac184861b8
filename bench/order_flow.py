"""Benchmark: the order flow end to end, with real processes on loopback.

    .venv/bin/python bench/order_flow.py [--seconds S] [--trades N]

A throwaway database (created, migrated, seeded with ``seed_demo`` and dropped here), private
engine stream, channel layer and cache prefixes, and the production processes: gunicorn
(``brokerage.wsgi``, 2 threaded workers as ``gunicorn.conf.py`` sets them), daphne
(``/stream``), ``run_matcher --shard 0 --session continuous`` and ``run_applier --shard 0``.
The clients are asyncio tasks in this process (a minimal HTTP/1.1 client and ``websockets``), so
the load generator costs little of the 2 cores it shares with the servers.

Rows (bench/results/order_flow.json, printed as a table):

1. Orders accepted via ``POST /v2/orders`` with 64 concurrent connections: authenticated,
   validated, risk-checked, committed and published, for ``--seconds``. Non-crossing crypto
   limit buys, rotating over the retail accounts and two symbols.
2. The ceiling: the same requests, same server setup (gunicorn, 2 workers), against
   ``bench/_bare_wsgi.py``, a DRF view that only validates. The ratio 1 / 2 is printed.
3. Order-to-fill-update latency at 200 orders/s: 100 pairs/s of a resting sell from the market
   maker (DEMO0005) then a crossing buy from a retail account; time from the buy's POST to its
   ``fill`` on the Alpaca trade-updates WebSocket. Again at 50 orders/s (25 pairs/s), a load
   this machine serves with room to spare, so the two rows tell the path's own latency from the
   queueing at the target rate (``--pairs-per-s`` sets the rates).
4. Applier executions committed per second: with the processes stopped, crossing orders are
   entered with the order service, run through an in-process ``Engine`` (on a shard of its own)
   and the resulting events committed with ``apply_events`` in batches of ``APPLY_BATCH``.

Benchmark-only changes to the seeded data and settings, all on the throwaway database or in the
bench's own processes: the accounts' ``max_orders_per_second`` risk limit (20) is raised, and the
API key rate limit (``API_KEY_THROTTLE_RATE``, 200/min) is raised for the bench's processes;
both checks still run on every order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "order_flow.json"
VENV_BIN = Path(sys.executable).parent
TAG = uuid.uuid4().hex[:8]
PREFIX = f"bench-of-{TAG}"
LAYER_PREFIX = f"bench-of-asgi-{TAG}"
CACHE_PREFIX = f"bench-of-cache-{TAG}"
DATABASE = f"bench_order_flow_{TAG}"
sys.path.insert(0, str(REPO))
from bench._common import (  # noqa: E402
    admin_sql,
    cpu_seconds_by_process,
    cpu_used_since,
    free_port,
    machine,
    manage,
    percentiles,
    port_answers,
    use_database,
)

# Everything private to the run: the bench neither reads nor changes the development database,
# streams, channel layer or cache (the demo API keys are the same ids as in development).
use_database(DATABASE)
os.environ["ENGINE_STREAM_PREFIX"] = PREFIX
os.environ["CHANNEL_LAYER_PREFIX"] = LAYER_PREFIX
os.environ["CACHE_KEY_PREFIX"] = CACHE_PREFIX
os.environ["DEMO_LIQUIDITY"] = "0"
os.environ["API_KEY_THROTTLE_RATE"] = "1000000/sec"
# Served as in production: debug off (no query log, no debug pages), behind a TLS proxy that
# says so in X-Forwarded-Proto (every request below carries it, so no redirect to https).
os.environ["DJANGO_DEBUG"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

import django  # noqa: E402

django.setup()

from websockets.asyncio.client import connect  # noqa: E402

CONCURRENCY = 64
PAIR_SENDERS = 4  # tasks sending crossing pairs, each at a fourth of the rate
PAIRS_PER_S = (100, 25)  # the target's 200 orders/s, then a load with room to spare
APPLY_BATCH = 500  # events per apply_events call (one transaction), like run_applier's count
BENCH_SHARD = 9  # the in-process engine's shard: its sequence starts at 1, shard 0's does not
MAKER = "DEMO0005"
RETAIL = ["DEMO0001", "DEMO0002", "DEMO0003", "DEMO0006"]
# symbol, quantity (one lot), the crossing price (the reference price), resting buy prices start
# below it: one lot costs a few dollars, so thousands of resting buys fit every account's cash.
SYMBOLS = [("BTC-USD", "0.0001", Decimal("60000.00")), ("ETH-USD", "0.001", Decimal("3000.00"))]
RAISED_ORDER_RATE = 1_000_000


# --- small helpers --------------------------------------------------------------------------------


def python_speed_us() -> float:
    """``sum(range(10_000))`` in microseconds, best of 5: how fast this CPU runs Python right
    now (a shared or throttled machine shows here; a recent x86 core takes ~100 us)."""
    import timeit

    return round(min(timeit.repeat("sum(range(10_000))", number=200, repeat=5)) / 200 * 1e6, 1)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def row(name: str, count: int, elapsed: float, samples_ns: list[int]) -> dict[str, Any]:
    p50, p99, p999 = percentiles(samples_ns)
    return {
        "name": name,
        "events_per_s": round(count / elapsed) if elapsed > 0 else 0,
        "p50_us": p50,
        "p99_us": p99,
        "p999_us": p999,
    }


def wait_until(condition, timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- the database ------------------------------------------------------------------------------


def create_database() -> dict[str, dict[str, str]]:
    """Create, migrate and seed the bench database; raise the order-rate risk limit; return the
    demo trading keys by account number."""
    admin_sql(f'CREATE DATABASE "{DATABASE}"')
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    from apps.clients.models import RiskLimit

    RiskLimit.objects.update(max_orders_per_second=RAISED_ORDER_RATE)
    credentials = json.loads(manage("demo_credentials", "--json"))
    return {key["account_number"]: key for key in credentials["trading"]}


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


# --- processes ------------------------------------------------------------------------------------


class Processes:
    """The servers of the run, logs in a temporary directory (kept and named if a start fails)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 (lives as long as the process)
        self.running[name] = subprocess.Popen(
            argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def gunicorn(self, name: str, app: str) -> int:
        port = free_port()
        argv = [str(VENV_BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        self.start(name, argv)
        return port

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.log_dir / (name + '.log')}")

    def stop(self, *names: str) -> None:
        for name in names or list(self.running):
            process = self.running.pop(name, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def matching_stack_ready() -> bool:
    """The matcher stored its first snapshot and the applier's consumer group exists."""
    from apps.matching.transport import output_stream, redis_client, shard_key

    client = redis_client()
    if not client.exists(shard_key(0, "snapshot")):
        return False
    try:
        groups = client.xinfo_groups(output_stream(0))
    except Exception:  # the stream does not exist yet
        return False
    return any(group["name"] == b"applier" for group in groups)


def wait_applier_caught_up() -> None:
    """Until no order is pending_new (run in a worker thread: Django refuses queries from the
    event loop; the thread's connection is closed here so the database can be dropped)."""
    from django.db import connections

    from apps.orders.choices import OrderStatus
    from apps.orders.models import Order

    try:
        wait_until(
            lambda: not Order.objects.filter(status=OrderStatus.PENDING_NEW).exists(),
            30,
            "the applier to commit every order",
        )
    except RuntimeError as exc:  # go on: the latency phase then runs behind a backlog
        print(f"  {exc}; measuring anyway")
    finally:
        connections.close_all()


# --- a minimal HTTP/1.1 client --------------------------------------------------------------------


class HttpConnection:
    """One keep-alive connection. When the server answers ``Connection: close`` (or closes a
    kept-alive connection), it is opened again for the next request, as any client library
    would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            lines += ["X-Forwarded-Proto: https"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
            try:
                self.writer.write("\r\n".join(lines).encode() + body)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()  # a kept-alive connection the server had closed: once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body


def error_text(status: int, body: bytes) -> str:
    """A short description of a failed request (a debug page is reduced to its title)."""
    text = body.decode(errors="replace")
    if "<title>" in text:
        text = text.split("<title>", 1)[1].split("</title>", 1)[0]
    return f"{status} {' '.join(text.split())[:160]}"


def key_headers(key: dict[str, str]) -> dict[str, str]:
    return {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}


def limit_order(symbol: str, qty: str, side: str, price: Decimal) -> bytes:
    return json.dumps(
        {
            "symbol": symbol,
            "qty": qty,
            "side": side,
            "type": "limit",
            "time_in_force": "gtc",
            "limit_price": str(price),
        }
    ).encode()


# --- phases 1 and 2: throughput at c=64 -----------------------------------------------------------


@dataclass
class Throughput:
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[int] = field(default_factory=list)
    elapsed: float = 0.0


async def post_storm(port: int, keys: list[dict[str, str]], seconds: float) -> Throughput:
    """CONCURRENCY connections POSTing non-crossing limit buys back to back for ``seconds``."""
    result = Throughput()
    start = time.monotonic()
    deadline = start + seconds

    async def worker(index: int) -> None:
        connection = HttpConnection(port)
        n = index
        while time.monotonic() < deadline:
            key = keys[n % len(keys)]
            symbol, qty, cross = SYMBOLS[(n // len(keys)) % len(SYMBOLS)]
            # 1-500 ticks below the crossing price: never crosses, never held by the collar.
            price = cross - Decimal("0.01") * (1 + n % 500)
            body = limit_order(symbol, qty, "buy", price)
            t0 = time.perf_counter_ns()
            try:
                status, reply = await connection.post("/v2/orders", key_headers(key), body)
            except (OSError, asyncio.IncompleteReadError) as exc:
                status, reply = 0, str(exc).encode()
            if status == 200:
                result.samples.append(time.perf_counter_ns() - t0)
                result.ok += 1
            else:
                what = error_text(status, reply)
                result.errors[what] = result.errors.get(what, 0) + 1
            n += CONCURRENCY
        await connection.close()

    await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    result.elapsed = time.monotonic() - start
    for what, count in sorted(result.errors.items(), key=lambda item: -item[1])[:3]:
        print(f"    {count} x {what}")
    return result


# --- phase 3: order to fill update latency --------------------------------------------------------


class TradeUpdates:
    """One ``/stream`` WebSocket per buying account, listening to trade_updates: the arrival
    time of each order's ``fill``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.fills: dict[str, int] = {}
        self.tasks: list[asyncio.Task] = []
        self.sockets: list = []

    async def open(self, key: dict[str, str]) -> None:
        ws = await connect(f"ws://127.0.0.1:{self.port}/stream", open_timeout=30, max_queue=None)
        await ws.send(
            json.dumps(
                {
                    "action": "authenticate",
                    "data": {"key_id": key["key_id"], "secret_key": key["secret"]},
                }
            )
        )
        reply = json.loads(await ws.recv())
        if reply["data"].get("status") != "authorized":
            raise RuntimeError(f"/stream refused the key: {reply}")
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        json.loads(await ws.recv())  # {"stream": "listening", ...}
        self.sockets.append(ws)
        self.tasks.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws) -> None:
        async for raw in ws:
            now = time.perf_counter_ns()
            message = json.loads(raw)
            data = message.get("data") or {}
            if message.get("stream") == "trade_updates" and data.get("event") == "fill":
                self.fills.setdefault(data["order"]["id"], now)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def fill_latency(
    web_port: int,
    ws_port: int,
    keys: dict[str, dict[str, str]],
    seconds: float,
    pairs_per_s: int,
) -> dict[str, Any]:
    updates = TradeUpdates(ws_port)
    for number in RETAIL:
        await updates.open(keys[number])
    await asyncio.sleep(0.5)  # every group membership in place
    submitted: dict[str, int] = {}
    errors: dict[str, int] = {}
    start = time.monotonic()
    deadline = start + seconds

    async def sender(index: int) -> None:
        connection = HttpConnection(web_port)
        interval = PAIR_SENDERS / pairs_per_s
        next_at = time.monotonic() + index * interval / PAIR_SENDERS
        n = index
        while next_at < deadline and time.monotonic() < deadline:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            # Behind schedule (a slow server) the rate falls short: no burst to catch up.
            next_at = max(next_at + interval, time.monotonic())
            symbol, qty, price = SYMBOLS[n % len(SYMBOLS)]
            buyer = keys[RETAIL[(n // len(SYMBOLS)) % len(RETAIL)]]
            n += PAIR_SENDERS
            status, reply = await connection.post(
                "/v2/orders", key_headers(keys[MAKER]), limit_order(symbol, qty, "sell", price)
            )
            if status != 200:
                what = "sell " + error_text(status, reply)
                errors[what] = errors.get(what, 0) + 1
                continue
            t0 = time.perf_counter_ns()
            status, reply = await connection.post(
                "/v2/orders", key_headers(buyer), limit_order(symbol, qty, "buy", price)
            )
            if status != 200:
                what = "buy " + error_text(status, reply)
                errors[what] = errors.get(what, 0) + 1
                continue
            submitted[json.loads(reply)["id"]] = t0
        await connection.close()

    await asyncio.gather(*(sender(i) for i in range(PAIR_SENDERS)))
    sent_for = time.monotonic() - start
    # The tail: every fill of what was sent, or give up after 5 s.
    tail_deadline = time.monotonic() + 5.0
    while time.monotonic() < tail_deadline and not submitted.keys() <= updates.fills.keys():
        await asyncio.sleep(0.05)
    await updates.close()
    samples = [updates.fills[oid] - t0 for oid, t0 in submitted.items() if oid in updates.fills]
    missing = len(submitted) - len(samples)
    print(
        f"  crossing buys submitted {len(submitted)}, fills received {len(samples)}"
        f" (missing {missing}) in {sent_for:.1f} s: offered {2 * len(submitted) / sent_for:.0f}"
        f" orders/s of the {2 * pairs_per_s} intended"
    )
    for what, count in sorted(errors.items(), key=lambda item: -item[1])[:3]:
        print(f"    {count} x {what}")
    return row(
        f"order-to-fill-update latency at {2 * pairs_per_s} orders/s ({pairs_per_s} crossing "
        "pairs/s; fill on the /stream WebSocket; fills/s)",
        len(samples),
        sent_for,
        samples,
    )


# --- phase 4: the applier alone -------------------------------------------------------------------


def applier_throughput(trades: int) -> dict[str, Any]:
    """Commit ``trades`` trades (2 executions each) with ``apply_events`` and time it, in
    batches of APPLY_BATCH events, as run_applier commits them (the events: ``applier_events``)."""
    from apps.orders.applier import apply_events

    started = time.monotonic()
    events = applier_events(trades)
    print(f"  {2 * trades} orders committed and matched in {time.monotonic() - started:.1f} s")
    executions, samples = 0, []
    start = time.perf_counter_ns()
    for i in range(0, len(events), APPLY_BATCH):
        t0 = time.perf_counter_ns()
        executions += apply_events(BENCH_SHARD, events[i : i + APPLY_BATCH]).executions
        samples.append(time.perf_counter_ns() - t0)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    print(f"  {executions} executions from {len(events)} events in {elapsed:.2f} s")
    return row(
        f"applier executions committed per second (apply_events, batches of {APPLY_BATCH} "
        "events; latency = per batch)",
        executions,
        elapsed,
        samples,
    )


def applier_events(trades: int) -> list[tuple]:
    """The events of ``trades`` crossing buys (accepted + trade each), their orders committed.

    The orders: one resting sell from the market maker and one crossing buy per retail account
    and symbol go through the order service (the templates: their reservations are what the
    risk check computed); the other ``trades`` sells and buys are committed in bulk as copies of
    their template, in the state ``order_submit`` leaves them (``pending_new``, the same
    reservation, added to the cash balance). Entering them one by one through the service would
    take minutes and measures the service again (row 1 does). The matcher is stopped: an
    in-process ``Engine`` on BENCH_SHARD matches the orders' ``new`` commands; the sells'
    events are committed here, the buys' events (accepted + trade) returned."""
    from django.db.models import F
    from django.utils import timezone

    from apps.clients.models import Account
    from apps.instruments.models import Instrument
    from apps.matching.commands import new_order_command, now_ns
    from apps.matching.engine import Engine
    from apps.matching.specs import instrument_spec
    from apps.orders.applier import ORDER_EVENTS, apply_events
    from apps.orders.choices import OrderStatus
    from apps.orders.models import Order
    from apps.orders.services import order_submit
    from apps.positions.models import CashBalance

    engine = Engine(shard=BENCH_SHARD)
    instruments = {}
    for symbol, _qty, _price in SYMBOLS:
        instruments[symbol] = Instrument.objects.get(symbol=symbol)
        engine.register(instrument_spec(instruments[symbol], session="continuous"))
    accounts = {a.number: a for a in Account.objects.filter(number__in=[MAKER, *RETAIL])}
    templates: dict[tuple[str, str], Order] = {}
    for symbol, qty, price in SYMBOLS:
        for number in (MAKER, *RETAIL):
            side = "sell" if number == MAKER else "buy"
            templates[(number, symbol)] = order_submit(
                account=accounts[number],
                instrument=instruments[symbol],
                side=side,
                order_type="limit",
                time_in_force="gtc",
                quantity=Decimal(qty),
                limit_price=price + (1 if side == "sell" else -1) * instruments[symbol].tick_size,
                actor_label="bench",
            )

    def copies(side: str) -> list[Order]:
        orders, reserved = [], {}
        for i in range(trades):
            symbol = SYMBOLS[i % len(SYMBOLS)][0]
            number = MAKER if side == "sell" else RETAIL[(i // len(SYMBOLS)) % len(RETAIL)]
            template = templates[(number, symbol)]
            orders.append(
                Order(
                    client_order_id=f"bench-{side}-{i}",
                    account=template.account,
                    instrument=template.instrument,
                    side=side,
                    order_type="limit",
                    time_in_force="gtc",
                    quantity=template.quantity,
                    limit_price=SYMBOLS[i % len(SYMBOLS)][2],
                    source=template.source,
                    status=OrderStatus.PENDING_NEW,
                    reserved_amount=template.reserved_amount,
                    submitted_at=timezone.now(),
                )
            )
            reserved[number] = reserved.get(number, Decimal(0)) + template.reserved_amount
        Order.objects.bulk_create(orders, batch_size=2000)
        for number, amount in reserved.items():
            CashBalance.objects.filter(account=accounts[number], currency="USD").update(
                reserved=F("reserved") + amount
            )
        return orders

    def matched(orders: list[Order]) -> list[tuple]:
        commands = [new_order_command(order, ts_ns=now_ns()) for order in orders]
        return [e for e in engine.process_many(commands) if e[0] in ORDER_EVENTS]

    apply_events(BENCH_SHARD, matched(copies("sell")))
    return matched(copies("buy"))


def print_cpu_per_request(what: str, used: dict[str, float], requests: int) -> None:
    """Where the machine's CPU went during a phase, per request served (the load generator is
    this process, ``order_flow.py``)."""
    if not requests:
        return
    total = sum(used.values())
    parts = ", ".join(f"{name} {seconds / requests * 1000:.2f}" for name, seconds in used.items())
    print(f"    CPU per request, {what}: {total / requests * 1000:.2f} ms ({parts})")


# --- the run --------------------------------------------------------------------------------------


async def rest_phases(
    web_port: int,
    bare_port: int,
    ws_port: int,
    keys: dict[str, dict[str, str]],
    seconds: float,
    pair_rates: list[int],
) -> tuple[list[dict[str, Any]], float]:
    accounts = [keys[number] for number in RETAIL]
    # The ceiling first: while the real endpoint runs, the matcher and applier work too, and
    # their backlog would still be draining during a later bare phase.
    print(f"  bare DRF POST, c={CONCURRENCY}, {seconds:.0f} s ...")
    before = cpu_seconds_by_process()
    bare = await post_storm(bare_port, accounts, seconds)
    bare_cpu = cpu_used_since(before)
    print(f"  POST /v2/orders, c={CONCURRENCY}, {seconds:.0f} s ...")
    before = cpu_seconds_by_process()
    real = await post_storm(web_port, accounts, seconds)
    real_cpu = cpu_used_since(before)
    print_cpu_per_request("bare DRF POST", bare_cpu, bare.ok)
    print_cpu_per_request("POST /v2/orders", real_cpu, real.ok)
    rows = [
        row(f"orders accepted via REST (c={CONCURRENCY})", real.ok, real.elapsed, real.samples),
        row(
            f"bare DRF POST that only validates (c={CONCURRENCY}), same server setup",
            bare.ok,
            bare.elapsed,
            bare.samples,
        ),
    ]
    ratio = rows[0]["events_per_s"] / rows[1]["events_per_s"] if rows[1]["events_per_s"] else 0.0
    for pairs_per_s in pair_rates:
        print("  waiting for the applier to catch up ...")
        await asyncio.to_thread(wait_applier_caught_up)
        print(f"  crossing pairs at {pairs_per_s} pairs/s ...")
        latency = await fill_latency(web_port, ws_port, keys, min(seconds, 10.0), pairs_per_s)
        rows.append(latency)
    return rows, ratio


@dataclass
class Ports:
    web: int
    ws: int
    bare: int | None = None


def start_servers(processes: Processes, *, bare: bool) -> Ports:
    """The production processes (matcher, applier, gunicorn, daphne; the bare DRF view's
    gunicorn too when ``bare``), once every one of them answers."""
    processes.start("matcher", [sys.executable, "manage.py", "run_matcher", "--shard", "0",
                                "--session", "continuous"])  # fmt: skip
    processes.start("applier", [sys.executable, "manage.py", "run_applier", "--shard", "0"])
    ports = Ports(web=processes.gunicorn("web", "brokerage.wsgi"), ws=free_port())
    if bare:
        ports.bare = processes.gunicorn("bare", "bench._bare_wsgi:application")
    processes.start("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1",
                               "-p", str(ports.ws), "brokerage.asgi:application"])  # fmt: skip
    wait_until(matching_stack_ready, 60, "the matcher and applier")
    for port in (ports.web, ports.bare, ports.ws):
        if port is not None:
            wait_until(lambda p=port: port_answers(p), 60, f"a server on port {port}")
    time.sleep(1.0)  # gunicorn's workers load the app after the port opens
    processes.check_alive()
    return ports


def clean_up(processes: Processes) -> None:
    """Stop the processes; drop the run's database and every Redis key under its prefixes."""
    from apps.matching.transport import delete_prefix_keys

    processes.stop()
    drop_database()
    for keys_prefix in (PREFIX, LAYER_PREFIX, CACHE_PREFIX):
        delete_prefix_keys(keys_prefix)


def rest_rows(
    processes: Processes, keys: Any, seconds: float, pair_rates: list[int]
) -> tuple[list, float]:
    """Start the production processes and run the REST and latency phases."""
    ports = start_servers(processes, bare=True)
    assert ports.bare is not None
    rows, ratio = asyncio.run(
        rest_phases(ports.web, ports.bare, ports.ws, keys, seconds, pair_rates)
    )
    processes.check_alive()
    processes.stop()
    return rows, ratio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="per throughput phase")
    parser.add_argument("--trades", type=int, default=10_000, help="applier phase")
    parser.add_argument(
        "--pairs-per-s",
        type=int,
        nargs="+",
        default=list(PAIRS_PER_S),
        help="latency phases: crossing pairs per second (two orders each), one phase per rate",
    )
    phases = parser.add_mutually_exclusive_group()
    phases.add_argument(
        "--only-applier", action="store_true", help="skip the REST and latency phases"
    )
    phases.add_argument("--skip-applier", action="store_true", help="skip the applier phase")
    args = parser.parse_args()
    mach, load_start, speed_start = machine(), load_average(), python_speed_us()
    started = time.monotonic()
    keys = create_database()
    print(f"database {DATABASE} migrated and seeded in {time.monotonic() - started:.0f} s")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-order-flow-"))
    processes = Processes(log_dir)
    failed = True
    try:
        rows, ratio = [], None
        if not args.only_applier:
            rows, ratio = rest_rows(processes, keys, args.seconds, args.pairs_per_s)
        if not args.skip_applier:
            print(f"  applier alone, {args.trades} trades ...")
            rows.append(applier_throughput(args.trades))
        failed = False
    finally:
        clean_up(processes)
        if failed:
            print(f"logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    for item in rows:
        item["machine"] = mach
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"machine: {mach}")
    print(f"load average (1, 5, 15 min) at start: {load_start}; at end: {load_average()}")
    print(
        f"python speed, sum(range(10_000)): {speed_start} us at start, {python_speed_us()} us at "
        "end (~100 us on an idle recent x86 core: higher means a slower or busy machine)"
    )
    print(f"{'benchmark':<100} {'events/s':>10} {'p50 us':>10} {'p99 us':>10} {'p99.9 us':>10}")
    for item in rows:
        print(
            f"{item['name']:<100} {item['events_per_s']:>10,} {item['p50_us'] or '-':>10} "
            f"{item['p99_us'] or '-':>10} {item['p999_us'] or '-':>10}"
        )
    if ratio is not None:
        print(f"REST / bare ratio: {ratio:.0%} (target >= 35%).")
    print(
        "Targets: REST >= 600 orders/s with "
        "p99 <= 100 ms; fill update p50 <= 10 ms, p99 <= 50 ms; applier >= 20,000 executions/s."
    )
    print(
        "notes: bench database only: RiskLimit.max_orders_per_second raised from 20 to "
        f"{RAISED_ORDER_RATE:,}; API key throttle raised from 200/min in the bench's processes "
        "(both still run per order). The load generator (asyncio, this process) shares "
        "the 2 cores with gunicorn, daphne, matcher, applier, PostgreSQL and Redis; at c=64 a "
        "closed loop's mean latency is 64 / throughput."
    )


if __name__ == "__main__":
    main()
