"""Benchmark: market data fan-out from the matchers' output stream to WebSocket clients.

    .venv/bin/python bench/marketdata_fanout.py [--seconds S]

Everything real, on loopback: a daphne subprocess serving ``/ws/market/``, the market data
process (``manage.py run_marketdata``, engine feed only) consuming ``<prefix>:out:0``, and
``websockets`` clients with a real session cookie, spread over ``--client-processes`` worker
processes (default 2). This process plays the matcher: it XADDs ``top`` events (4 symbols)
to the output stream, each stamped with ``ts_ns`` = time.time_ns() just before the XADD;
clients compute now - ``at`` of each quote.

Rows (bench/results/marketdata_fanout.json, printed as a table):

1. ``group_send`` ceiling, the same run: the market data layer's (pub/sub,
   docs/marketdata.md) group_send calls/s to a group one process has joined, as each server's
   hub does: what the layer costs alone.
2. Quote fan-out to 100 and 1,000 clients subscribed to the same 4 symbols, the matcher side
   offering as much as it can: quote messages/s delivered to all clients together, with the
   latency of what arrived (conflation drops intermediate quotes for clients that lag).
3. Matcher-event-to-client latency at 100 clients at a modest rate (200 events/s), then the
   same with one extra client that subscribes and stops reading.

Prefixes (engine streams, market data keys, channel layer) are private to the run; the bench
user, session and instruments are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "marketdata_fanout.json"
PREFIX = f"bench-md-{uuid.uuid4().hex[:8]}"
LAYER_PREFIX = f"bench-asgi-{uuid.uuid4().hex[:8]}"
DATABASE = f"bench_md_{uuid.uuid4().hex[:8]}"
sys.path.insert(0, str(REPO))
from bench._common import (  # noqa: E402
    admin_sql,
    free_port,
    machine,
    percentiles,
    port_answers,
    use_database,
)

# A database of its own (created, migrated and dropped here): the bench neither depends on the
# state of the development database nor leaves anything in it.
use_database(DATABASE)
os.environ["ENGINE_STREAM_PREFIX"] = PREFIX
os.environ["CHANNEL_LAYER_PREFIX"] = LAYER_PREFIX
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

logging.getLogger("channels_redis").setLevel(logging.WARNING)

import msgpack  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from apps.instruments.models import Instrument, Venue  # noqa: E402
from apps.matching.transport import delete_prefix_keys, output_stream, redis_client  # noqa: E402

SYMBOLS = [f"BENCHMD{i}" for i in range(4)]
APP = "brokerage.asgi:application"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
QUOTE_AT = re.compile(r'"at":"([^"]+)"')


# --- fixtures in the database ------------------------------------------------------------------


def create_database() -> None:
    admin_sql(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, check=True
    )


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def setup_db() -> tuple[str, list]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    venue, _ = Venue.objects.get_or_create(mic="BNCH", defaults={"name": "Bench venue"})
    for symbol in SYMBOLS:
        Instrument.objects.get_or_create(
            symbol=symbol,
            defaults={
                "name": "Benchmark instrument",
                "asset_class": "equity",
                "venue": venue,
                "tick_size": Decimal("0.01"),
                "lot_size": Decimal(1),
                "min_quantity": Decimal(1),
                "reference_price": Decimal("100.00"),
            },
        )
    user, _ = get_user_model().objects.get_or_create(username=f"bench-{PREFIX}")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key, [user]


# --- the matcher's side -------------------------------------------------------------------------


class Matcher:
    """Writes output stream entries exactly as the matcher does (field e = msgpack events)."""

    def __init__(self) -> None:
        self.r = redis_client()
        self.seq = 0
        self.stream = output_stream(0)
        self.price = 10_000

    def entry(self, symbols: list[str]) -> dict[bytes, bytes]:
        events = []
        first = self.seq + 1
        now = time.time_ns()
        self.price = 10_000 + (self.seq % 50)
        for symbol in symbols:
            self.seq += 1
            events.append(("top", self.seq, now, symbol, self.price, 100, self.price + 2, 100))
        return {
            b"e": msgpack.packb(events, use_bin_type=True),
            b"first_seq": str(first).encode(),
            b"last_seq": str(self.seq).encode(),
            b"in_id": b"0-0",
        }

    async def offer(self, seconds: float, rate: float | None, symbols: list[str]) -> int:
        """XADD entries for ``seconds``: at ``rate`` entries/s, or as fast as a pipeline of 20
        entries per round trip allows (rate None). Returns the events offered."""
        loop = asyncio.get_running_loop()
        end = time.monotonic() + seconds
        offered = 0
        interval = 1.0 / rate if rate else 0.0
        next_at = time.monotonic()
        while time.monotonic() < end:
            if rate:
                await loop.run_in_executor(None, self.r.xadd, self.stream, self.entry(symbols))
                offered += len(symbols)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            else:
                pipe = self.r.pipeline(transaction=False)
                for _ in range(20):
                    pipe.xadd(self.stream, self.entry(symbols))
                    offered += len(symbols)
                await loop.run_in_executor(None, pipe.execute)
                await asyncio.sleep(0.002)
        return offered


# --- where the time goes -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """Seconds a process has run on a CPU and has waited, runnable, for one (Linux
    schedstat, summed over its threads): on a shared 2-core machine the wait says whether a
    slow phase was starved of CPU rather than busy."""
    ran = waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        ran += int(fields[0])
        waited += int(fields[1])
    return ran / 1e9, waited / 1e9


class Probe:
    """CPU share of each process during a phase (and its wait for a CPU), and what is left
    queued at its end: entries of the output stream the market data process has not read yet.
    Printed under each phase, so a slow row says which side was the bottleneck (a process near
    100% of one core) and whether a backlog sat in the stream."""

    pids: dict[str, int] = {}

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def cpu_used(self, name: str) -> float:
        """CPU seconds ``name`` has used since the probe started."""
        return cpu_seconds(self.pids[name])[0] - self.cpu[name][0]

    def report(self) -> str:
        elapsed = time.monotonic() - self.started
        shares = []
        for name, pid in self.pids.items():
            (ran, waited), (ran0, waited0) = cpu_seconds(pid), self.cpu[name]
            busy, starved = 100 * (ran - ran0) / elapsed, 100 * (waited - waited0) / elapsed
            shares.append(f"{name} {busy:.0f}% (waited {starved:.0f}%)")
        shares = ", ".join(shares)
        r = redis_client()
        lag = "?"
        for group in r.xinfo_groups(output_stream(0)):
            if group["name"] in ("marketdata", b"marketdata"):
                lag = group.get("lag")
        # Both channel layers are pub/sub: nothing waits in Redis for a server.
        return f"cpu {shares}; unread stream entries {lag}"


# --- clients ----------------------------------------------------------------------------------


class Clients:
    def __init__(self, url: str, origin: str, cookie: str) -> None:
        self.url, self.origin, self.cookie = url, origin, cookie
        self.count = 0
        self.frames = 0
        self.last_arrival = 0.0
        self.samples: list[int] = []
        self.measure_latency = False
        self.tasks: list[asyncio.Task] = []
        self.sockets: list = []

    async def _run(self, ws, ready: asyncio.Event) -> None:
        # A frame holds one message or an array of them; only quotes are subscribed to, and
        # the timestamps are read without a JSON parse (the load generator's cost counts).
        ready.set()
        async for raw in ws:
            now = time.time_ns()
            quotes = raw.count('"type":"quote"')
            if not quotes:
                continue
            self.count += quotes
            self.frames += 1
            self.last_arrival = time.monotonic()
            if self.measure_latency:
                for at in QUOTE_AT.findall(raw):
                    moment = dt.datetime.fromisoformat(at)
                    self.samples.append(now - (moment - EPOCH) // MICROSECOND * 1000)

    async def open(self, n: int, *, stalled: bool = False) -> None:
        for start in range(0, n, 50):
            batch = []
            for _ in range(min(50, n - start)):
                batch.append(
                    connect(
                        self.url,
                        origin=self.origin,
                        additional_headers={"Cookie": f"sessionid={self.cookie}"},
                        max_queue=1 if stalled else 4096,
                        open_timeout=30,
                        ping_interval=None,
                    )
                )
            for ws in await asyncio.gather(*batch):
                await ws.send(
                    json.dumps({"action": "subscribe", "channels": ["quotes"], "symbols": SYMBOLS})
                )
                self.sockets.append(ws)
                if not stalled:
                    ready = asyncio.Event()
                    self.tasks.append(asyncio.create_task(self._run(ws, ready)))
        await asyncio.sleep(1.0)  # every subscription in place before anything is measured

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        self.tasks, self.sockets = [], []


class ClientProcesses:
    """The clients spread over worker processes (``Clients`` in each), so the load generator
    is not one Python process parsing every frame: measured alone, one process takes about
    28,000 quote messages/s at one message a frame (15 us of CPU each, latency parsed).
    The matcher side stays in this process. Replies come back over a pipe per worker."""

    def __init__(self, processes: int, url: str, origin: str, cookie: str) -> None:
        context = multiprocessing.get_context("fork")
        self.workers = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(
                target=_client_worker, args=(child, url, origin, cookie), daemon=True
            )
            process.start()
            self.workers.append((process, parent))

    @property
    def pids(self) -> list[int]:
        return [process.pid for process, _pipe in self.workers]

    async def _call(self, commands: list[tuple[str, Any] | None]) -> list:
        loop = asyncio.get_running_loop()
        busy = []
        for (_process, pipe), command in zip(self.workers, commands, strict=True):
            if command is not None:
                pipe.send(command)
                busy.append(pipe)
        return await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for pipe in busy))

    async def open(self, n: int, *, stalled: bool = False) -> None:
        k = len(self.workers)
        shares = [n // k + (1 if i < n % k else 0) for i in range(k)]
        await self._call([("open", (share, stalled)) if share else None for share in shares])

    async def reset(self, *, measure_latency: bool) -> None:
        await self._call([("reset", measure_latency)] * len(self.workers))

    async def collect(self) -> tuple[int, int, float, list[int]]:
        """Quote messages and frames received, the last arrival (monotonic) and the latency
        samples, over every worker."""
        replies = await self._call([("collect", None)] * len(self.workers))
        samples = [sample for reply in replies for sample in reply[3]]
        return (
            sum(r[0] for r in replies),
            sum(r[1] for r in replies),
            max(r[2] for r in replies),
            samples,
        )

    async def close(self) -> None:
        await self._call([("close", None)] * len(self.workers))

    def stop(self) -> None:
        for process, pipe in self.workers:
            pipe.send(("exit", None))
            process.join(5)


def _client_worker(pipe, url: str, origin: str, cookie: str) -> None:
    async def serve() -> None:
        clients = Clients(url, origin, cookie)
        loop = asyncio.get_running_loop()
        while True:
            command, argument = await loop.run_in_executor(None, pipe.recv)
            reply = None
            if command == "open":
                n, stalled = argument
                await clients.open(n, stalled=stalled)
            elif command == "reset":
                clients.count = clients.frames = 0
                clients.samples = []
                clients.measure_latency = argument
            elif command == "collect":
                reply = (clients.count, clients.frames, clients.last_arrival, clients.samples)
            elif command == "close":
                await clients.close()
            elif command == "exit":
                return
            pipe.send(reply)

    asyncio.run(serve())


# --- phases -------------------------------------------------------------------------------------


async def timed_group_sends(layer, group: str, seconds: float) -> tuple[int, float, list[int]]:
    """``group_send`` of one 200-byte quote message back to back for ``seconds``: how many were
    sent, the time taken and each call's latency in ns."""
    message = {"type": "md.event", "channel": "quotes", "symbol": "X", "items": [[None, "x" * 200]]}
    sent, start, latencies = 0, time.monotonic(), []
    while time.monotonic() - start < seconds:
        t0 = time.perf_counter_ns()
        await layer.group_send(group, message)
        latencies.append(time.perf_counter_ns() - t0)
        sent += 1
    return sent, time.monotonic() - start, latencies


async def pubsub_ceiling(seconds: float) -> dict:
    """The market data layer (pub/sub) alone: group_send calls/s to a group one process has
    joined, as a server's hub joins it. A publish goes to each subscribed process once, however
    many sockets it serves, so this is the layer's ceiling per server process."""
    from django.conf import settings

    layer = get_channel_layer(settings.MARKETDATA_CHANNEL_LAYER)
    group = "bench.ceiling.pubsub"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    received = 0

    async def drain() -> None:
        nonlocal received
        while True:
            await layer.receive(channel)
            received += 1

    reader = asyncio.create_task(drain())
    sent, elapsed, latencies = await timed_group_sends(layer, group, seconds)
    await asyncio.sleep(0.5)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await layer.group_discard(group, channel)
    print(f"  pub/sub ceiling: sent {sent}, received {received} in this process")
    p50, p99, p999 = percentiles(latencies)
    return {
        "name": "market data pub/sub layer group_send ceiling, 1 subscribed process (messages/s)",
        "events_per_s": round(sent / elapsed),
        "p50_us": p50,
        "p99_us": p99,
        "p999_us": p999,
    }


async def fanout(pool: ClientProcesses, matcher: Matcher, n: int, seconds: float) -> dict:
    await pool.open(n)
    await pool.reset(measure_latency=True)
    start = time.monotonic()
    probe = Probe()
    offered = await matcher.offer(seconds, None, SYMBOLS)
    print(f"  {n} clients, end of offer: {probe.report()}")
    await asyncio.sleep(1.0)  # let the tail arrive
    delivered, frames, last_arrival, samples = await pool.collect()
    # The rate over the time deliveries took: from the first offer to the last arrival.
    elapsed = max(last_arrival, start + seconds) - start
    server_cpu = sum(probe.cpu_used(name) for name in probe.pids if name.startswith("daphne"))
    client_cpu = sum(probe.cpu_used(name) for name in probe.pids if name.startswith("clients"))
    p50, p99, p999 = percentiles(samples)
    await pool.close()
    print(
        f"  {n} clients: offered {offered} events, delivered {delivered} quote messages in"
        f" {frames} frames over {elapsed:.1f} s; CPU per message delivered: daphne"
        f" {1e6 * server_cpu / max(delivered, 1):.1f} us, clients"
        f" {1e6 * client_cpu / max(delivered, 1):.1f} us"
    )
    return {
        "name": f"quote fan-out to {n} clients, 4 symbols (messages/s delivered)",
        "events_per_s": round(delivered / elapsed),
        "p50_us": p50,
        "p99_us": p99,
        "p999_us": p999,
    }


async def latency(pool: ClientProcesses, matcher: Matcher, seconds: float, stalled: bool) -> dict:
    await pool.open(100)
    if stalled:
        await pool.open(1, stalled=True)
    await pool.reset(measure_latency=True)
    start = time.monotonic()
    probe = Probe()
    await matcher.offer(seconds, 50, SYMBOLS)  # 50 entries x 4 symbols = 200 events/s
    print(f"  latency{' (stalled client)' if stalled else ''}: {probe.report()}")
    await asyncio.sleep(0.5)
    elapsed = time.monotonic() - start
    delivered, _frames, _last, samples = await pool.collect()
    p50, p99, p999 = percentiles(samples)
    await pool.close()
    suffix = ", plus 1 client that stops reading" if stalled else ""
    return {
        "name": f"matcher event to client latency, 100 clients at 200 events/s{suffix}",
        "events_per_s": round(delivered / elapsed),
        "p50_us": p50,
        "p99_us": p99,
        "p999_us": p999,
    }


def child_pids(pid: int) -> list[int]:
    """The daphne processes supervisord started (none when daphne runs bare)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_answers(port):
            return
        time.sleep(0.1)
    raise RuntimeError("daphne did not start")


async def main_async(args, pool: ClientProcesses) -> list[dict]:
    matcher = Matcher()
    phases = {
        "ceiling": lambda: [pubsub_ceiling(args.seconds)],
        "fanout100": lambda: [fanout(pool, matcher, 100, args.seconds)],
        "fanout1000": lambda: [fanout(pool, matcher, 1000, args.seconds)],
        "latency": lambda: [latency(pool, matcher, args.seconds, stalled=False)],
        "stalled": lambda: [latency(pool, matcher, args.seconds, stalled=True)],
    }
    rows = []
    for name in args.phases.split(","):
        for phase in phases[name]():
            rows.append(await phase)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--ws-processes",
        type=int,
        default=int(os.environ.get("WS_PROCESSES", "2")),
        help="daphne processes behind the port (default: WS_PROCESSES, else 2, as the Procfile)",
    )
    parser.add_argument(
        "--client-processes", type=int, default=2, help="worker processes the clients share"
    )
    parser.add_argument(
        "--phases",
        default="ceiling,fanout100,fanout1000,latency,stalled",
        help="comma-separated subset, in order (default: all; only a full run is the result)",
    )
    args = parser.parse_args()
    mach = machine()
    started = time.monotonic()
    create_database()
    print(f"database {DATABASE} migrated in {time.monotonic() - started:.0f} s")
    cookie, _users = setup_db()
    port = free_port()
    env = {**os.environ, "DEMO_LIQUIDITY": "0"}
    python = sys.executable
    log = open(os.environ.get("BENCH_DAPHNE_LOG", os.devnull), "w")  # noqa: SIM115
    # The WebSocket server as the Procfile runs it (supervisord: WS_PROCESSES daphne processes
    # on one port, docker/ws.supervisord.conf). BENCH_PROFILE_DAPHNE=<file>: one bare daphne
    # under cProfile, timed by CPU time (stats written when it stops).
    profile = os.environ.get("BENCH_PROFILE_DAPHNE")
    if profile:
        profiler = [str(REPO / "bench" / "_cpu_profile.py"), profile]
        server = [python, *profiler, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP]
    else:
        server = [str(Path(python).parent / "supervisord"), "-c", "docker/ws.supervisord.conf"]
        env |= {
            "WS_BIND": "127.0.0.1",
            "WS_PORT": str(port),
            "WS_PROCESSES": str(args.ws_processes),
            "PATH": f"{Path(python).parent}{os.pathsep}{env['PATH']}",
        }
    daphne = subprocess.Popen(server, cwd=REPO, env=env, stdout=log, stderr=log)
    feed = subprocess.Popen(
        [python, "manage.py", "run_marketdata", "--no-reference-feed", "--demo-liquidity", "off"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        time.sleep(2.0)
        url, origin = f"ws://127.0.0.1:{port}/ws/market/", f"http://127.0.0.1:{port}"
        pool = ClientProcesses(args.client_processes, url, origin, cookie)
        servers = child_pids(daphne.pid) or [daphne.pid]
        Probe.pids = {f"daphne{i}": pid for i, pid in enumerate(servers, 1)}
        Probe.pids.update({"marketdata": feed.pid, "matcher": os.getpid()})
        for i, pid in enumerate(pool.pids, 1):
            Probe.pids[f"clients{i}"] = pid
        try:
            rows = asyncio.run(main_async(args, pool))
        finally:
            pool.stop()
    finally:
        for process in (feed, daphne):
            process.terminate()
        for process in (feed, daphne):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_database()
        delete_prefix_keys(PREFIX)
        delete_prefix_keys(LAYER_PREFIX)
    for row in rows:
        row["machine"] = mach
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"machine: {mach}")
    print(f"{'benchmark':<88} {'events/s':>10} {'p50 us':>10} {'p99 us':>10} {'p99.9 us':>10}")
    for row in rows:
        print(
            f"{row['name']:<88} {row['events_per_s']:>10,} "
            f"{row['p50_us'] or '-':>10} {row['p99_us'] or '-':>10} {row['p999_us'] or '-':>10}"
        )


if __name__ == "__main__":
    main()
