"""Benchmark: the real matcher process between its Redis streams, against bare Redis streams.

    .venv/bin/python bench/matcher_redis.py [--commands N] [--latency-seconds S] [--rate R]

Rows (written to bench/results/matcher_redis.json, printed as a table):

1. Baseline, the same run: a bare stream round trip in this process (XADD, XREADGROUP, XACK),
   batch 1 and batch 100: what Redis and redis-py cost before any matching.
2. Throughput: the shared workload (10 symbols, no bands, no STP, continuous session) is put
   on a throwaway input stream, then ``manage.py run_matcher --symbols ...`` drains it.
   Commands/s = commands / (time of the last output entry - time of the first), both read
   from the output entries' Redis ids (server clock, ms), so the producer's speed and the
   process start do not count. Snapshots are on, at the matcher's default interval.
3. Latency: the same matcher, commands sent one XADD at a time at an offered rate (2,000/s),
   each stamped with ``ts_ns`` = time.time_ns() just before its XADD; a separate consumer
   process XREADs the output stream and records now - ts_ns for each command's first event.

The stream prefix is ``bench-<random>``; its keys are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = Path(
    os.environ.get("BROKERAGE_SHARED_BENCH") or Path(__file__).resolve().parents[2] / "shared/bench"
)
RESULTS = REPO / "bench" / "results" / "matcher_redis.json"
PREFIX = f"bench-{uuid.uuid4().hex[:8]}"

sys.path.insert(0, str(SHARED_BENCH))
sys.path.insert(0, str(REPO))
from bench._common import machine, percentiles  # noqa: E402

os.environ["ENGINE_STREAM_PREFIX"] = PREFIX
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

import django  # noqa: E402

django.setup()

import msgpack  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from workload import CANCEL, CROSS, LIMIT, generate  # noqa: E402

from apps.matching.metrics import (  # noqa: E402
    LATENCY_BUCKETS_US,
    latency_percentile,
    metrics_snapshot,
)
from apps.matching.transport import (  # noqa: E402
    delete_prefix_keys,
    input_stream,
    output_stream,
    shard_key,
)

SHARD = 0


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=False)


def commands_of(events: list[tuple]) -> list[tuple]:
    """The workload as engine commands (GTC limits, IOC markets, cancels); ts_ns set later."""
    sides = ("buy", "sell")
    cmds = []
    for kind, sym, oid, side, price, qty in events:
        if kind in (LIMIT, CROSS):
            cmds.append(("new", 0, sym, oid, None, sides[side], "limit", "gtc", qty, price,
                         None, 0, False, False, None, None))  # fmt: skip
        elif kind == CANCEL:
            cmds.append(("cancel", 0, sym, oid, None))
        else:
            cmds.append(("new", 0, sym, oid, None, sides[side], "market", "ioc", qty, None,
                         None, 0, False, False, None, None))  # fmt: skip
    return cmds


def with_ts(cmd: tuple, ts_ns: int) -> bytes:
    return msgpack.packb((cmd[0], ts_ns, *cmd[2:]), use_bin_type=True)


# --- baseline ------------------------------------------------------------------------------


def bare_round_trip(batch: int, seconds: float = 2.0) -> dict[str, Any]:
    """XADD ``batch`` entries (one pipeline), XREADGROUP them, XACK them; repeat."""
    r = client()
    stream = f"{PREFIX}:baseline:{batch}"
    r.xgroup_create(stream, "g", id="0", mkstream=True)
    payload = {b"c": with_ts(("new", 0, "SYM00", 1, None, "buy", "limit", "gtc", 1, 100,
                                None, 0, False, False, None, None), 0)}  # fmt: skip
    samples: list[int] = []
    messages = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        t0 = time.perf_counter_ns()
        if batch == 1:
            r.xadd(stream, payload)
        else:
            pipe = r.pipeline(transaction=False)
            for _ in range(batch):
                pipe.xadd(stream, payload)
            pipe.execute()
        reply = r.xreadgroup("g", "c", {stream: ">"}, count=batch, block=1000)
        ids = [entry_id for entry_id, _ in reply[0][1]]
        r.xack(stream, "g", *ids)
        samples.append(time.perf_counter_ns() - t0)
        messages += len(ids)
        if len(samples) % 200 == 0:
            r.xtrim(stream, maxlen=1000, approximate=True)
    elapsed = time.perf_counter() - start
    r.delete(stream)
    return {"events_per_s": messages / elapsed, "lat": percentiles(samples)}


# --- the matcher process -------------------------------------------------------------------


def start_matcher(symbols: list[str]) -> subprocess.Popen:
    env = {**os.environ, "ENGINE_STREAM_PREFIX": PREFIX, "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_matcher", "--shard", str(SHARD),
         "--symbols", ",".join(symbols), "--session", "continuous"],
        cwd=REPO,
        env=env,
    )  # fmt: skip


def preload(cmds: list[tuple]) -> None:
    r = client()
    stream = input_stream(SHARD)
    for i in range(0, len(cmds), 5000):
        pipe = r.pipeline(transaction=False)
        for j, cmd in enumerate(cmds[i : i + 5000], start=i):
            pipe.xadd(stream, {b"c": with_ts(cmd, j)})
        pipe.execute()


def wait_processed(r: redis.Redis, timeout: float) -> None:
    target = r.xrevrange(input_stream(SHARD), count=1)[0][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.hget(shard_key(SHARD, "progress"), "in_id") == target:
            return
        time.sleep(0.05)
    raise RuntimeError("the matcher did not finish in time")


def process_cpu_s(pid: int) -> tuple[float, float]:
    """(own, reaped children's) user + system CPU seconds of a process so far, from /proc;
    the children are the forked snapshot writers. Zeros where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def redis_cpu_s(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def wait_until_leading(r: redis.Redis, timeout: float = 60) -> None:
    """The matcher has started and built its state (it publishes progress at once)."""
    deadline = time.monotonic() + timeout
    while not r.exists(shard_key(SHARD, "progress")):
        if time.monotonic() > deadline:
            raise RuntimeError("the matcher did not start")
        time.sleep(0.005)


def throughput_from_output(r: redis.Redis, n_commands: int) -> tuple[float, float, int]:
    first = r.xrange(output_stream(SHARD), count=1)[0]
    last = r.xrevrange(output_stream(SHARD), count=1)[0]
    ms = int(last[0].split(b"-")[0]) - int(first[0].split(b"-")[0])
    seconds = max(ms, 1) / 1000
    events = int(last[1][b"last_seq"]) - int(first[1][b"first_seq"]) + 1
    return n_commands / seconds, events / seconds, events


def consume_latencies(stream: str, after: bytes, expected: int, queue: mp.Queue) -> None:
    """Child process: XREAD the output ``stream``; for each command (distinct ts_ns) now -
    ts_ns."""
    r = redis.Redis.from_url(settings.REDIS_URL, decode_responses=False)
    seen: set[int] = set()
    samples: list[int] = []
    last = after
    deadline = time.monotonic() + 120
    while len(seen) < expected and time.monotonic() < deadline:
        reply = r.xread({stream: last}, count=1000, block=500)
        now = time.time_ns()
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                for ev in msgpack.unpackb(fields[b"e"], raw=False):
                    ts = ev[2]
                    if ts not in seen:
                        seen.add(ts)
                        samples.append(now - ts)
    queue.put(samples)


def latency_run(cmds: list[tuple], rate: float) -> dict[str, Any]:
    r = client()
    after = r.xrevrange(output_stream(SHARD), count=1)[0][0]
    queue: mp.Queue = mp.get_context("fork").Queue()
    consumer = mp.get_context("fork").Process(
        target=consume_latencies, args=(output_stream(SHARD), after, len(cmds), queue)
    )
    consumer.start()
    time.sleep(1.2)  # and a metrics flush: the matcher's own histogram starts from here
    before = matcher_histogram(r)
    stream = input_stream(SHARD)
    interval = 1.0 / rate
    start = time.perf_counter()
    for i, cmd in enumerate(cmds):
        target = start + i * interval
        while (delay := target - time.perf_counter()) > 0:
            time.sleep(delay if delay > 0.0005 else 0)
        r.xadd(stream, {b"c": with_ts(cmd, time.time_ns())})
    sent_for = time.perf_counter() - start
    samples = queue.get(timeout=120)
    consumer.join()
    time.sleep(1.2)  # the matcher's next metrics flush
    own = [b - a for a, b in zip(before, matcher_histogram(r), strict=True)]
    return {
        "events_per_s": len(cmds) / sent_for,
        "lat": percentiles(samples),
        "n": len(samples),
        "matcher_lat": tuple(latency_percentile(own, q) for q in (0.5, 0.99, 0.999)),
    }


def matcher_histogram(r: redis.Redis) -> list[int]:
    """The matcher's cumulative latency histogram (command ts_ns -> its events published)."""
    hist = metrics_snapshot(SHARD, client=r).get("latency_hist_total", "")
    counts = [int(c) for c in str(hist).split(",") if c != ""]
    return counts or [0] * (len(LATENCY_BUCKETS_US) + 1)


def row(name: str, rate: float, lat: tuple, mach: str) -> dict[str, Any]:
    p50, p99, p999 = lat
    return {
        "name": name,
        "events_per_s": round(rate),
        "p50_us": None if p50 is None else round(p50, 1),
        "p99_us": None if p99 is None else round(p99, 1),
        "p999_us": None if p999 is None else round(p999, 1),
        "machine": mach,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", type=int, default=200_000)
    ap.add_argument("--latency-seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    mach = machine()
    rows: list[dict[str, Any]] = []
    n_latency = int(args.rate * args.latency_seconds)
    events = generate(args.commands + n_latency, 10, args.seed)
    cmds = commands_of(events)
    symbols = sorted({e[1] for e in events})
    drain, paced = cmds[: args.commands], cmds[args.commands :]
    r = client()
    matcher = None
    try:
        for batch in (1, 100):
            base = bare_round_trip(batch)
            rows.append(row(f"redis stream round trip, batch {batch} (msg/s)",
                            base["events_per_s"], base["lat"], mach))  # fmt: skip

        preload(drain)
        matcher = start_matcher(symbols)
        wait_until_leading(r)
        cpu_matcher, cpu_redis = process_cpu_s(matcher.pid), redis_cpu_s(r)
        load_before = os.getloadavg()[0]
        wait_processed(r, timeout=120)
        cpu_after = process_cpu_s(matcher.pid)
        cpu_snapshots = cpu_after[1] - cpu_matcher[1]
        cpu_matcher = cpu_after[0] - cpu_matcher[0]
        cpu_redis = redis_cpu_s(r) - cpu_redis
        cmd_rate, ev_rate, n_events = throughput_from_output(r, len(drain))
        drain_row = row(f"matcher via redis: {len(drain):,} commands in->out (commands/s)",
                        cmd_rate, (None, None, None), mach)  # fmt: skip
        # On a shared machine wall-clock rates say more about the neighbours than about the
        # matcher: the CPU each side used tells what the path costs.
        drain_row.update(
            matcher_cpu_s=round(cpu_matcher, 2),
            snapshot_children_cpu_s=round(cpu_snapshots, 2),
            redis_cpu_s=round(cpu_redis, 2),
            commands_per_matcher_cpu_s=round(len(drain) / cpu_matcher) if cpu_matcher else None,
            load_average=round(max(load_before, os.getloadavg()[0]), 2),
        )
        rows.append(drain_row)
        rows.append(row(f"matcher via redis: {n_events:,} engine events out (events/s)",
                        ev_rate, (None, None, None), mach))  # fmt: skip

        lat = latency_run(paced, args.rate)
        name = f"matcher via redis: in->out latency at {args.rate:,.0f} commands/s offered"
        rows.append(row(name, lat["events_per_s"], lat["lat"], mach))
        # The matcher's own view of the same commands (XADD -> its publish returned), at the
        # resolution of its histogram buckets: what is left is the consumer's wake-up.
        name = "  same, matcher side only (upper bucket bound of its histogram)"
        rows.append(row(name, lat["events_per_s"], lat["matcher_lat"], mach))
    finally:
        if matcher is not None:
            matcher.send_signal(signal.SIGTERM)
            try:
                matcher.wait(timeout=15)
            except subprocess.TimeoutExpired:
                matcher.kill()
        delete_prefix_keys(PREFIX, client=r)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nmachine: {mach}\n")
    print(f"{'path':78} {'per s':>10} {'p50 us':>9} {'p99 us':>9} {'p99.9 us':>9}")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:,.1f}"

    for x in rows:
        print(f"{x['name']:78} {x['events_per_s']:>10,} {fmt(x['p50_us']):>9} "
              f"{fmt(x['p99_us']):>9} {fmt(x['p999_us']):>9}")  # fmt: skip
    extra = {k: v for k, v in rows[2].items() if k not in rows[0]}
    extra["load_average_end"] = round(os.getloadavg()[0], 2)
    print(f"\ndrain: {extra}")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
