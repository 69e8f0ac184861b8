"""The matcher process of one shard: the engine between ``<prefix>:in:{<shard>}`` and ``:out:``.

How it stays exactly-once across crashes and fail-overs (docs/engine.md, "The matcher process"):

- The engine is deterministic, so the state after input entry X is a function of the inputs up
  to X. Each processed batch is published by ONE Lua script that, atomically: checks that this
  process holds the shard's lease (fencing), XADDs the batch's events to the output stream,
  records ``progress`` = (last input id, last seq) and XACKs the batch. Either all of that
  happened or none of it.
- Every ``snapshot_every`` commands a forked child writes a snapshot: the engine state and
  the input id and seq it corresponds to (consistent by construction: the child is a frozen
  copy taken between two batches), without stalling the loop.
- On start the process restores the snapshot and replays the input after the snapshot's id
  WITHOUT publishing up to ``progress`` (those events are already out, with the same seqs),
  then publishes from there. A ``kill -9`` anywhere therefore yields the same events and seqs
  as an uninterrupted run, none twice.
- A hot standby restores the same snapshot and replays the same input, staying at or just
  behind ``progress`` (never ahead, so it has nothing unpublished to remember). It polls the
  lease; once the primary's lease has expired (TTL 1.5 s, renewed every 500 ms) it takes the
  lease, replays the last few entries up to the final ``progress`` and publishes from there.
- No snapshot at all means Redis lost its data: the books are rebuilt from Postgres
  (``apps.matching.rebuild``), or, in ``--symbols`` mode (benchmarks, tests), start empty.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import signal
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack
import redis
from django.conf import settings

from apps.matching.engine import AddInstrument, Engine, InstrumentSpec
from apps.matching.engine.records import COMMANDS
from apps.matching.metrics import MatcherMetrics
from apps.matching.rebuild import (
    database_identity,
    load_rebuild_state,
    rebuild_engine,
    session_by_calendar,
    shard_instruments,
)
from apps.matching.specs import instrument_spec
from apps.matching.transport import (
    input_stream,
    output_stream,
    pack,
    publish_commands,
    redis_client,
    shard_key,
    unpack,
)

log = logging.getLogger(__name__)

GROUP = "matcher"

# KEYS: lease, output, progress, input, snapshot
# ARGV: token, ttl_ms, in_id, seq, events ('' = none), first_seq, group, snapshot ('' = none),
#       previous in_id (what this process last published), ids to ack...
# The lease is checked first (fencing). If it merely expired (a pause) and nobody took it, it is
# taken back, but only while ``progress`` is still what this process last wrote: otherwise
# another matcher led in between and this one's engine no longer matches the output.
# A snapshot here (start and stop only) also trims the input stream up to the PREVIOUS
# snapshot's id: a restart needs only the entries after the newest one.
PUBLISH_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  if holder then return 0 end
  local current = redis.call('HGET', KEYS[3], 'in_id') or ''
  if current ~= ARGV[9] then return 0 end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[5], 'first_seq', ARGV[6], 'last_seq', ARGV[4],
             'in_id', ARGV[3])
end
redis.call('HSET', KEYS[3], 'in_id', ARGV[3], 'seq', ARGV[4])
if #ARGV >= 10 then
  redis.call('XACK', KEYS[4], ARGV[7], unpack(ARGV, 10))
end
if ARGV[8] ~= '' then
  local previous = redis.call('HGET', KEYS[5], 'in_id')
  redis.call('HSET', KEYS[5], 'engine', ARGV[8], 'in_id', ARGV[3], 'seq', ARGV[4],
             'trimmed_to', previous or '0-0')
  if previous then redis.call('XTRIM', KEYS[4], 'MINID', previous) end
end
return 1
"""

# KEYS: lease, progress. ARGV: token, ttl_ms, previous in_id. Renew our lease, or take it back
# under the same condition as above.
RENEW_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
local current = redis.call('HGET', KEYS[2], 'in_id') or ''
if current ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# Written by the forked snapshot child. KEYS: snapshot, input. ARGV: engine, in_id, seq.
# Never replaces a newer snapshot (a slow child must not go back in time).
SNAPSHOT_LUA = """
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) > tonumber(ARGV[3]) then return 0 end
local previous = redis.call('HGET', KEYS[1], 'in_id')
redis.call('HSET', KEYS[1], 'engine', ARGV[1], 'in_id', ARGV[2], 'seq', ARGV[3],
           'trimmed_to', previous or '0-0')
if previous then redis.call('XTRIM', KEYS[2], 'MINID', previous) end
return 1
"""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLost(RuntimeError):
    """Another matcher took this shard over; this one must stop publishing at once."""


def id_key(stream_id: bytes | str) -> tuple[int, int]:
    """A stream id as a comparable pair ("1700000000000-3" -> (1700000000000, 3))."""
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


# Number of fields per command kind: a message of another length is refused before the engine.
_COMMAND_LENGTHS = {kind: len(cls.FIELDS) for kind, cls in COMMANDS.items()}
_unpackb = msgpack.unpackb


def decode_commands(entries: list) -> list[tuple]:
    """Commands of raw input entries (``[id, [field, value, ...]]`` as Redis sends them).

    Plain tuples go to the engine (it takes any tuple with a command layout; the named record
    classes cost a call per command here). A malformed entry is logged and skipped, the same
    way on every replay, so determinism holds.
    """
    commands = []
    append = commands.append
    lengths = _COMMAND_LENGTHS
    for entry_id, fields in entries:
        try:
            blob = (
                fields[1]
                if fields[0] == b"c"
                else dict(zip(fields[::2], fields[1::2], strict=False))[b"c"]
            )
            command = _unpackb(blob, use_list=False, raw=False)
            if lengths.get(command[0]) != len(command):
                raise ValueError("not a command layout")
        except (ValueError, TypeError, KeyError, IndexError, msgpack.UnpackException):
            log.error("skipping malformed input entry %s: %r", entry_id, fields)
            continue
        append(command)
    return commands


def apply_batch(engine: Engine, commands: list[tuple]) -> list[tuple]:
    """What ``engine.process_many(commands)`` returns, except that a command the engine
    raises on is logged and skipped instead of stopping the shard.

    A crash would restart into the same command forever (a poison pill). Skipping is
    deterministic, so replays and the standby skip it alike; the sequence goes back to where
    it was before the command, so the output has no gap (its events never went out).
    """
    events: list[tuple] = []
    extend = events.extend
    process = engine.process
    i, n = 0, len(commands)
    while i < n:
        seq = engine.seq
        try:
            while i < n:
                seq = engine.seq
                extend(process(commands[i]))
                i += 1
        except Exception:
            engine.seq = seq
            log.exception("engine failed on command %r: skipped", commands[i])
            i += 1
    return events


def _raw_reply(response: Any, **_options: Any) -> Any:
    return response


def _stream_entries(reply: Any) -> list | None:
    """The entries of a one-stream XREADGROUP reply (redis-py hands it over as a dict keyed
    by stream, or as RESP2 pairs, depending on version and protocol)."""
    if not reply:
        return None
    if isinstance(reply, dict):
        return next(iter(reply.values()))
    return reply[0][1]


@dataclass
class MatcherOptions:
    """How ``run_matcher`` runs (CLI flags of the management command)."""

    shard: int = 0
    standby: bool = False
    snapshot_every: int = 50_000  # commands between snapshots
    snapshot_interval_s: float = 30.0  # and at least this often when anything happened
    session: str | None = None  # start every new book in this state (tests, benchmarks)
    symbols: list[str] = field(default_factory=list)  # no database: these plain symbols
    batch_max: int = 2000
    block_ms: int = 100
    lease_ttl_ms: int = 1500
    lease_renew_ms: int = 500
    poll_ms: int = 20  # standby: how often it looks at the primary's progress
    metrics_interval_s: float = 1.0


class Matcher:
    """One shard's matcher: follows as a standby until it holds the lease, then leads."""

    def __init__(self, options: MatcherOptions, *, client: redis.Redis | None = None) -> None:
        self.options = options
        self.shard = options.shard
        self.r = client or redis_client()
        self.k_in = input_stream(self.shard)
        self.k_out = output_stream(self.shard)
        self.k_progress = shard_key(self.shard, "progress")
        self.k_snapshot = shard_key(self.shard, "snapshot")
        self.k_lease = shard_key(self.shard, "lease")
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.consumer = f"shard{self.shard}"
        # The stream reads skip redis-py's reply parsing (a dict per entry): the loop decodes
        # the raw arrays itself, which is a third of the cost of a batch otherwise.
        self.raw = redis.Redis(connection_pool=self.r.connection_pool)
        self.raw.set_response_callback("XREADGROUP", _raw_reply)
        self.raw.set_response_callback("XRANGE", _raw_reply)
        self._publish = self.r.register_script(PUBLISH_LUA)
        self._snapshot_child: int | None = None
        self._renew = self.r.register_script(RENEW_LUA)
        self._release = self.r.register_script(RELEASE_LUA)
        self.engine: Engine | None = None
        self.pos: bytes = b"0-0"  # last input id applied to self.engine
        self.leader = False
        self.stopping = False
        self.metrics = MatcherMetrics(self.shard, interval_s=options.metrics_interval_s)
        self.since_snapshot = 0
        self.last_snapshot_at = time.monotonic()
        self.renewed_at = 0.0
        self.heartbeat_at = 0.0
        self.published_in_id: bytes = b""  # progress.in_id as this process last wrote/saw it
        self._db_identity: str | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        """Follow, take over, lead; until SIGTERM/SIGINT (or ``stop()``)."""
        self._ensure_group()
        holder = self.r.get(self.k_lease)
        if holder and not self.options.standby:
            log.warning(
                "shard %s: %s leads; following it as a standby until its lease expires",
                self.shard, holder.decode(),
            )  # fmt: skip
        self._load_state()
        while not self.leader and not self.stopping:
            self._follow_once()
        if self.stopping:
            return
        try:
            self._take_over()
            self._lead()
        finally:
            if self.leader and self.stopping:
                self._final_snapshot()
                self._release(keys=[self.k_lease], args=[self.token])
                log.info("shard %s: lease released", self.shard)

    def stop(self, *_args: Any) -> None:
        self.stopping = True

    def _ensure_group(self) -> None:
        try:
            self.r.xgroup_create(self.k_in, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _try_lease(self) -> bool:
        ok = self.r.set(self.k_lease, self.token, nx=True, px=self.options.lease_ttl_ms)
        if ok:
            self.renewed_at = time.monotonic()
            log.info("shard %s: lease acquired by %s", self.shard, self.token)
        return bool(ok)

    def _renew_lease(self) -> None:
        if not self._renew(
            keys=[self.k_lease, self.k_progress],
            args=[self.token, self.options.lease_ttl_ms, self.published_in_id],
        ):
            raise LeaseLost(self.k_lease)
        self.renewed_at = time.monotonic()

    # --- state: snapshot, rebuild, replay ------------------------------------------------

    def _load_state(self) -> None:
        """Restore the shard's snapshot; if there is none, whoever gets the lease first builds
        the initial state (from Postgres, or empty books in --symbols mode)."""
        while not self.stopping:
            if self._restore_snapshot():
                return
            if self._try_lease():
                # Reading Postgres may take longer than a lease: hold it for the build, the
                # first publish brings the TTL back to normal.
                self.r.pexpire(self.k_lease, 60_000)
                self.leader = True
                self._initial_state()
                return
            time.sleep(self.options.poll_ms / 1000)

    def _restore_snapshot(self) -> bool:
        snap = self.r.hmget(self.k_snapshot, ["engine", "in_id", "db"])
        if snap[0] is None:
            return False
        if not self.options.symbols and snap[2] != self._database_identity().encode():
            log.warning(
                "shard %s: the snapshot was built from database %s, not %s: rebuilding",
                self.shard, snap[2], self._database_identity(),
            )  # fmt: skip
            return False
        self.engine = Engine.restore(unpack(snap[0]))
        self.pos = snap[1]
        log.info(
            "shard %s: restored snapshot at input %s, seq %s (%s resting orders)",
            self.shard, self.pos.decode(), self.engine.seq, self.engine.resting_count(),
        )  # fmt: skip
        return True

    def _initial_state(self) -> None:
        """Build the books when Redis has no snapshot, and store the first one.

        With a database: Redis lost its data (or this is the very first start, which looks
        the same). The input entries already in the stream were published after their rows
        committed, so the database read below covers them; processing starts after the
        stream's current last id and the re-sent pending orders follow it.
        In --symbols mode there is nothing to rebuild from: empty books, the whole stream.
        """
        now_ns = time.time_ns()
        resend: list[tuple] = []
        if self.options.symbols:
            engine = Engine(shard=self.shard, seen_window=settings.ENGINE_SEEN_WINDOW)
            for symbol in self.options.symbols:
                engine.register(bare_spec(symbol, session=self.options.session or "continuous"))
            start_id = b"0-0"
        else:
            start_id = self._last_input_id()
            state = load_rebuild_state(
                self.shard,
                session_for=session_by_calendar(dt.datetime.now(dt.UTC), self.options.session),
                ts_ns=now_ns,
            )
            engine = rebuild_engine(self.shard, state)
            resend = state.resend
        engine.seq = max(engine.seq, self._last_published_seq())
        self.engine = engine
        self.pos = start_id
        self._write(events=[], first_seq=engine.seq + 1, ids=[], snapshot=True)
        if not self.options.symbols:
            self.r.hset(self.k_snapshot, "db", self._database_identity())
        log.info(
            "shard %s: initial state built (%s resting orders, seq %s, input after %s); "
            "re-sending %s commands",
            self.shard, engine.resting_count(), engine.seq, start_id.decode(), len(resend),
        )  # fmt: skip
        if resend:
            publish_commands(self.shard, resend, client=self.r)

    def _database_identity(self) -> str:
        if self._db_identity is None:
            self._db_identity = database_identity()
        return self._db_identity

    def _last_input_id(self) -> bytes:
        last = self.r.xrevrange(self.k_in, count=1)
        return last[0][0] if last else b"0-0"

    def _last_published_seq(self) -> int:
        seqs = [0]
        progress = self.r.hget(self.k_progress, "seq")
        if progress is not None:
            seqs.append(int(progress))
        last = self.r.xrevrange(self.k_out, count=1)
        if last:
            seqs.append(int(last[0][1][b"last_seq"]))
        return max(seqs)

    def _replay(self, until: bytes) -> None:
        """Apply input entries after ``self.pos`` up to ``until`` without publishing."""
        engine = self.engine
        assert engine is not None
        while id_key(self.pos) < id_key(until):
            entries = self.raw.xrange(
                self.k_in, min=b"(" + self.pos, max=until, count=self.options.batch_max
            )
            if not entries:
                raise RuntimeError(
                    f"input stream has nothing between {self.pos!r} and {until!r} (trimmed?)"
                )
            apply_batch(engine, decode_commands(entries))
            self.pos = entries[-1][0]

    def _progress(self) -> tuple[bytes, int] | None:
        in_id, seq = self.r.hmget(self.k_progress, ["in_id", "seq"])
        if in_id is None:
            return None
        return in_id, int(seq)

    def _catch_up_to_progress(self) -> None:
        progress = self._progress()
        if progress is None:
            return
        in_id, seq = progress
        trimmed_to = self.r.hget(self.k_snapshot, "trimmed_to")
        if trimmed_to is not None and id_key(self.pos) < id_key(trimmed_to):
            log.warning("shard %s: fell behind the trimmed input; reloading", self.shard)
            self._restore_snapshot()
        if id_key(self.pos) < id_key(in_id):
            self._replay(in_id)
        assert self.engine is not None
        if id_key(self.pos) == id_key(in_id) and self.engine.seq != seq:
            log.error(
                "shard %s: replay reached input %s at seq %s but %s was published there",
                self.shard, in_id.decode(), self.engine.seq, seq,
            )  # fmt: skip

    # --- standby -------------------------------------------------------------------------

    def _follow_once(self) -> None:
        """One standby step: stay level with what the primary has published, try the lease."""
        self._catch_up_to_progress()
        now = time.monotonic()
        if now - self.heartbeat_at >= 0.5:
            # Where the standby is, for operators and tests (a standby publishes nothing else).
            assert self.engine is not None
            self.r.hset(
                shard_key(self.shard, "standby"),
                mapping={"token": self.token, "in_id": self.pos, "seq": self.engine.seq},
            )
            self.r.pexpire(shard_key(self.shard, "standby"), 5000)
            self.heartbeat_at = now
        if self._try_lease():
            self.leader = True
            return
        time.sleep(self.options.poll_ms / 1000)

    def _take_over(self) -> None:
        """Now holding the lease: nobody else can publish, so ``progress`` is final. Replay up
        to it and point the consumer group right after it."""
        self._catch_up_to_progress()
        self.published_in_id = (self._progress() or (b"",))[0]
        self.r.xgroup_setid(self.k_in, GROUP, id=self.pos)
        assert self.engine is not None
        log.info(
            "shard %s: leading from input %s, seq %s",
            self.shard, self.pos.decode(), self.engine.seq,
        )  # fmt: skip
        self._announce_new_instruments()

    def _announce_new_instruments(self) -> None:
        """Instruments added to the database after the snapshot enter through the input
        stream (``add_instrument``), so a standby replaying the stream sees them too."""
        if self.options.symbols:
            return
        assert self.engine is not None
        session_for = session_by_calendar(dt.datetime.now(dt.UTC), self.options.session)
        ts_ns = time.time_ns()
        missing = [
            AddInstrument(ts_ns=ts_ns, spec=instrument_spec(i, session=session_for(i)).to_dict())
            for i in shard_instruments(self.shard)
            if i.symbol not in self.engine.books
        ]
        if missing:
            log.info("shard %s: announcing %s new instruments", self.shard, len(missing))
            publish_commands(self.shard, missing, client=self.r)

    # --- primary -------------------------------------------------------------------------

    def _lead(self) -> None:
        engine = self.engine
        assert engine is not None
        options = self.options
        streams = {self.k_in: ">"}
        renew_s = options.lease_renew_ms / 1000
        # Everything loaded so far (the books) is long-lived: keep the cyclic collector off it,
        # and let the young generation grow, so a collection does not stall a batch.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        while not self.stopping:
            # COUNT is a ceiling, not a wait: a quiet line returns each command alone at once
            # (latency); under load a read drains up to batch_max (throughput).
            reply = self.raw.xreadgroup(
                GROUP, self.consumer, streams, count=options.batch_max, block=options.block_ms
            )
            now = time.monotonic()
            entries = _stream_entries(reply)
            if entries:
                commands = decode_commands(entries)
                first_seq = engine.seq + 1
                events = apply_batch(engine, commands)
                ids = [entry_id for entry_id, _ in entries]
                self.pos = ids[-1]
                self._write(events=events, first_seq=first_seq, ids=ids, snapshot=False)
                self.metrics.batch(
                    commands=commands, events=len(events), first_id=ids[0], done_ns=time.time_ns()
                )
                self.since_snapshot += len(commands)
                if self.since_snapshot >= options.snapshot_every:
                    self._snapshot_in_background()
            elif now - self.renewed_at >= renew_s:
                self._renew_lease()
            if self.since_snapshot and now - self.last_snapshot_at >= options.snapshot_interval_s:
                self._snapshot_in_background()
            if self.metrics.due(now):
                self.metrics.flush(
                    now,
                    seq=engine.seq,
                    in_id=self.pos,
                    role="primary",
                    client=self.r,
                    extra={"lag_entries": self._group_lag()},
                )
        self._reap_snapshot_child(wait=True)

    def _group_lag(self) -> int:
        """Input entries not yet read by the group (Redis 7 computes it; -1 if unknown)."""
        try:
            for group in self.r.xinfo_groups(self.k_in):
                if group["name"] == GROUP.encode():
                    lag = group.get("lag")
                    return -1 if lag is None else int(lag)
        except redis.RedisError:
            pass
        return -1

    def _snapshot_in_background(self) -> None:
        """Serialize the engine in a forked child (copy-on-write, like Redis' BGSAVE).

        A snapshot of a big book takes hundreds of milliseconds; done inline it would stall
        matching and could outlast the lease. The child sees the engine exactly as it is after
        the batch just published, so (state, input id, seq) agree; it writes them on its own
        connection and exits. One child at a time: if the last one is still writing, retry
        after the next batch.
        """
        if not self._reap_snapshot_child(wait=False):
            return
        engine = self.engine
        assert engine is not None
        in_id, seq = self.pos, engine.seq
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                r = redis.Redis.from_url(settings.REDIS_URL, decode_responses=False)
                r.eval(SNAPSHOT_LUA, 2, self.k_snapshot, self.k_in, pack(engine.snapshot()),
                       in_id, seq)  # fmt: skip
                code = 0
            finally:
                os._exit(code)
        self._snapshot_child = pid
        self.since_snapshot = 0
        self.last_snapshot_at = time.monotonic()

    def _reap_snapshot_child(self, *, wait: bool) -> bool:
        """True when no snapshot child is running any more."""
        pid = self._snapshot_child
        if pid is None:
            return True
        done, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        if done == 0:
            return False
        if os.waitstatus_to_exitcode(status) != 0:
            log.error("shard %s: snapshot child failed (%s)", self.shard, status)
        self._snapshot_child = None
        return True

    def _write(
        self, *, events: list[tuple], first_seq: int, ids: list[bytes], snapshot: bool
    ) -> None:
        """Publish a batch's events, progress and acks (and, at start and stop, a snapshot) in
        one atomic script that first checks this process still holds the lease."""
        engine = self.engine
        assert engine is not None
        snap_blob = pack(engine.snapshot()) if snapshot else b""
        ok = self._publish(
            keys=[self.k_lease, self.k_out, self.k_progress, self.k_in, self.k_snapshot],
            args=[
                self.token,
                self.options.lease_ttl_ms,
                self.pos,
                engine.seq,
                pack(events) if events else b"",
                first_seq,
                GROUP,
                snap_blob,
                self.published_in_id,
                *ids,
            ],
        )
        if not ok:
            raise LeaseLost(f"{self.k_lease} is held by another matcher")
        self.published_in_id = self.pos
        self.renewed_at = time.monotonic()
        if snapshot:
            self.since_snapshot = 0
            self.last_snapshot_at = self.renewed_at

    def _final_snapshot(self) -> None:
        try:
            self._write(events=[], first_seq=0, ids=[], snapshot=True)
        except (LeaseLost, redis.RedisError):
            log.warning("shard %s: no final snapshot", self.shard, exc_info=True)


def bare_spec(symbol: str, *, session: str = "continuous") -> InstrumentSpec:
    """A symbol without bands or self-trade prevention (benchmarks and process tests)."""
    return InstrumentSpec(
        symbol=symbol,
        band_low=None,
        band_high=None,
        self_trade_prevention=False,
        session=session,
    )


def run_matcher(options: MatcherOptions) -> None:
    """Entry point of ``manage.py run_matcher``: run a :class:`Matcher` until SIGTERM/SIGINT.

    Losing the lease or the Redis connection does not end the process: it starts over as a
    fresh matcher (restore the snapshot, follow, lead when the lease is free), which is exactly
    the recovery path, so one hiccup does not take down every process honcho supervises.
    """
    stop_requested = False
    current: list[Matcher] = []

    def stop(*_args: Any) -> None:
        nonlocal stop_requested
        stop_requested = True
        for matcher in current:
            matcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stop_requested:
        matcher = Matcher(options)
        current[:] = [matcher]
        log.info(
            "shard %s matcher %s starting (%s)",
            options.shard, matcher.token, "standby" if options.standby else "primary",
        )  # fmt: skip
        try:
            matcher.run()
            return
        except LeaseLost:
            log.error("shard %s: lease lost to another matcher; starting over", options.shard)
        except (redis.ConnectionError, redis.TimeoutError):
            log.warning("shard %s: Redis unreachable; starting over in 1 s", options.shard,
                        exc_info=True)  # fmt: skip
            time.sleep(1)
        matcher._reap_snapshot_child(wait=True)
