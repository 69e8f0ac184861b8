"""The matcher's own numbers: throughput, batch sizes, input lag, in-to-out latency.

Kept in memory by the loop (a few integer additions per batch, a bisect per command) and
written once a second to the Redis hash ``<prefix>:metrics:<shard>``, where the operations
portal, ``metrics_snapshot()`` and a shell (``redis-cli HGETALL engine:metrics:0``) read them;
the same line goes to the log. Redis rather than Prometheus because every process already talks
to it and the numbers are per shard, not per host.

Latency is measured from the command's ``ts_ns`` (set by the sender just before the XADD) to
the moment its events were written; commands older than a minute (a replay, a re-send after a
crash) are left out so they do not swamp the histogram.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from typing import Any

import redis

from apps.matching.transport import redis_client, shard_key

log = logging.getLogger(__name__)

# Upper bounds of the latency buckets, microseconds (the last bucket is open).
LATENCY_BUCKETS_US = (
    50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 20_000,
    50_000, 100_000, 250_000, 500_000, 1_000_000,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
STALE_NS = 60 * 1_000_000_000


def metrics_key(shard: int) -> str:
    return shard_key(shard, "metrics")


def _percentile(counts: list[int], bounds: tuple[int, ...], q: float) -> int | None:
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank:
            return bounds[i] if i < len(bounds) else bounds[-1] * 2
    return bounds[-1] * 2


class MatcherMetrics:
    """Counters for one reporting interval, plus running totals."""

    def __init__(self, shard: int, *, interval_s: float = 1.0) -> None:
        self.shard = shard
        self.interval_s = interval_s
        self.total_commands = 0
        self.total_events = 0
        self.total_batches = 0
        # Since start, for readers that want percentiles over a window of their own (the
        # benchmark takes the difference of two readings).
        self.total_latency = [0] * (len(LATENCY_BUCKETS_US) + 1)
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self.started = now
        self.commands = 0
        self.events = 0
        self.batches = 0
        self.max_batch = 0
        self.max_lag_ms = 0
        self.latency = [0] * (len(LATENCY_BUCKETS_US) + 1)
        self.batch_sizes = [0] * (len(BATCH_BUCKETS) + 1)

    def batch(self, *, commands: list[tuple], events: int, first_id: bytes, done_ns: int) -> None:
        """Record one published batch (call after the write returned)."""
        n = len(commands)
        self.commands += n
        self.events += events
        self.batches += 1
        self.max_batch = max(self.max_batch, n)
        self.batch_sizes[bisect_left(BATCH_BUCKETS, n)] += 1
        # Input lag: how long the oldest command of the batch waited in the stream (ms ids).
        lag_ms = done_ns // 1_000_000 - int(first_id.split(b"-", 1)[0])
        self.max_lag_ms = max(self.max_lag_ms, lag_ms)
        latency = self.latency
        for cmd in commands:
            waited = done_ns - cmd[1]
            if 0 <= waited < STALE_NS:
                latency[bisect_left(LATENCY_BUCKETS_US, waited // 1000)] += 1

    def due(self, now: float) -> bool:
        return now - self.started >= self.interval_s

    def flush(
        self,
        now: float,
        *,
        seq: int,
        in_id: bytes | str,
        role: str,
        client: redis.Redis | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write this interval's numbers to Redis and the log; start a new interval."""
        elapsed = max(now - self.started, 1e-9)
        self.total_commands += self.commands
        self.total_events += self.events
        self.total_batches += self.batches
        self.total_latency = [a + b for a, b in zip(self.total_latency, self.latency, strict=True)]
        row: dict[str, Any] = {
            "role": role,
            "seq": seq,
            "in_id": in_id.decode() if isinstance(in_id, bytes) else in_id,
            "commands_per_s": round(self.commands / elapsed, 1),
            "events_per_s": round(self.events / elapsed, 1),
            "batches_per_s": round(self.batches / elapsed, 1),
            "avg_batch": round(self.commands / self.batches, 1) if self.batches else 0,
            "max_batch": self.max_batch,
            "input_lag_ms": self.max_lag_ms,
            "latency_p50_us": _percentile(self.latency, LATENCY_BUCKETS_US, 0.50) or 0,
            "latency_p99_us": _percentile(self.latency, LATENCY_BUCKETS_US, 0.99) or 0,
            "latency_p999_us": _percentile(self.latency, LATENCY_BUCKETS_US, 0.999) or 0,
            "latency_hist": ",".join(map(str, self.latency)),
            "latency_hist_total": ",".join(map(str, self.total_latency)),
            "batch_hist": ",".join(map(str, self.batch_sizes)),
            "total_commands": self.total_commands,
            "total_events": self.total_events,
            "total_batches": self.total_batches,
            "updated_at_ms": int(time.time() * 1000),
            **(extra or {}),
        }
        try:
            (client or redis_client()).hset(metrics_key(self.shard), mapping=row)
        except redis.RedisError:  # metrics never stop the matcher
            log.warning("could not write metrics", exc_info=True)
        if self.commands:
            log.info(
                "shard %s %s: %s cmd/s, %s ev/s, batch avg %s max %s, lag %s ms, "
                "latency p50 %s us p99 %s us, seq %s",
                self.shard, role, row["commands_per_s"], row["events_per_s"], row["avg_batch"],
                row["max_batch"], row["input_lag_ms"], row["latency_p50_us"],
                row["latency_p99_us"], seq,
            )  # fmt: skip
        self._reset(now)
        return row


def latency_percentile(hist: str | list[int], q: float) -> int | None:
    """The q-quantile (upper bucket bound, us) of a latency histogram as stored in the hash."""
    counts = [int(c) for c in hist.split(",")] if isinstance(hist, str) else hist
    return _percentile(counts, LATENCY_BUCKETS_US, q)


def metrics_snapshot(shard: int, *, client: redis.Redis | None = None) -> dict[str, Any]:
    """The last numbers the shard's matcher wrote ({} if none), numbers parsed."""
    raw = (client or redis_client()).hgetall(metrics_key(shard))
    result: dict[str, Any] = {}
    for key, value in raw.items():
        text = value.decode()
        try:
            number: Any = float(text) if "." in text else int(text)
        except ValueError:
            number = text
        result[key.decode()] = number
    return result
