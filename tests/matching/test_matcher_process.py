"""The matcher as a real process against real Redis (and Postgres for the rebuild).

Every test compares the output stream with an in-process Engine fed the same commands: the
process must add transport, not behaviour, and must survive kill -9 and fail-over without a
missing, changed or repeated event.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from apps.matching import transport
from apps.matching.commands import new_order_command
from apps.matching.engine import Cancel, Engine, NewOrder
from apps.matching.matcher import bare_spec
from apps.matching.metrics import metrics_snapshot
from apps.matching.transport import (
    input_stream,
    iter_all_events,
    publish_commands,
    redis_client,
    shard_key,
)
from apps.orders.choices import OrderStatus, Side
from apps.orders.models import ShardProgress
from tests.instruments.factories import EquityFactory
from tests.orders.factories import OrderFactory
from tests.processes import wait_until

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ["AAA", "BBB"]
# Django start-up of a matcher process, generous: a shared 2-core machine can be very busy.
STARTUP_S = 45

pytestmark = [pytest.mark.processes, pytest.mark.xdist_group("processes")]


# --- helpers -----------------------------------------------------------------------------


class Processes:
    """Starts matchers with the test's stream prefix and database; kills leftovers."""

    def __init__(self, prefix: str, tmp_path: Path) -> None:
        self.prefix = prefix
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen] = []

    def matcher(self, *args: str, db: bool = False) -> subprocess.Popen:
        env = {**os.environ, "ENGINE_STREAM_PREFIX": self.prefix, "PYTHONUNBUFFERED": "1"}
        if db:
            name = settings.DATABASES["default"]["NAME"]
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        log = open(self.tmp_path / f"matcher-{len(self.started)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(REPO / ".venv/bin/python"), "manage.py", "run_matcher", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("matcher-*.log")))

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def processes(stream_prefix: str, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(stream_prefix, tmp_path)
    yield procs
    procs.stop_all()


def progress(shard: int = 0) -> tuple[bytes, int] | None:
    in_id, seq = redis_client().hmget(shard_key(shard, "progress"), ["in_id", "seq"])
    return None if in_id is None else (in_id, int(seq))


def last_input_id(shard: int = 0) -> bytes:
    return redis_client().xrevrange(input_stream(shard), count=1)[0][0]


def wait_all_processed(timeout: float = 40.0) -> None:
    target = last_input_id()
    wait_until(lambda: (p := progress()) and p[0] == target, timeout, "the last input entry")


def workload(n: int, seed: int = 7) -> list[tuple]:
    """Limit orders around 100, crossing orders, cancels (some of unknown ids) and re-sent
    duplicates, over two symbols, with increasing timestamps."""
    rng = random.Random(seed)
    commands: list[tuple] = []
    live: list[tuple[str, str]] = []
    ts = 1_000_000_000
    for i in range(n):
        ts += 1000
        r = rng.random()
        symbol = rng.choice(SYMBOLS)
        if r < 0.55 or not live:
            side = rng.choice(("buy", "sell"))
            price = 100 + (rng.randint(-5, 1) if side == "buy" else rng.randint(-1, 5))
            oid = f"o{i}"
            live.append((symbol, oid))
            commands.append(
                NewOrder(
                    ts_ns=ts, symbol=symbol, order_id=oid, side=side, price=price,
                    qty=rng.randint(1, 50), tif="gtc",
                )
            )  # fmt: skip
        elif r < 0.8:
            sym, oid = live.pop(rng.randrange(len(live)))
            commands.append(Cancel(ts_ns=ts, symbol=sym, order_id=oid))
        elif r < 0.9:
            commands.append(
                NewOrder(
                    ts_ns=ts, symbol=symbol, order_id=f"x{i}", side=rng.choice(("buy", "sell")),
                    qty=rng.randint(1, 80), order_type="market", tif="ioc",
                )
            )  # fmt: skip
        else:
            # A re-sent order (the sweeper or a rebuild): same id, must produce nothing.
            earlier = [c for c in commands[-50:] if c[0] == "new"]
            commands.append(rng.choice(earlier))
    return commands


def reference_events(commands: list[tuple]) -> list[tuple]:
    engine = Engine(shard=0)
    for symbol in SYMBOLS:
        engine.register(bare_spec(symbol))
    return engine.process_many(commands)


def published() -> list[tuple]:
    return [tuple(e) for e in iter_all_events(0)]


def assert_output_entries_consistent() -> None:
    """Per entry first_seq/last_seq match its events, and entries follow each other."""
    expected_first = None
    for _id, fields in redis_client().xrange(transport.output_stream(0)):
        first, last = transport.output_entry_seqs(fields)
        seqs = [e[1] for e in transport.decode_output_entry(fields)]
        assert seqs == list(range(first, last + 1))
        if expected_first is not None:
            assert first == expected_first
        expected_first = last + 1


def publish_in_chunks(commands: list[tuple], chunk: int, pause: float) -> threading.Thread:
    def run() -> None:
        for i in range(0, len(commands), chunk):
            publish_commands(0, commands[i : i + chunk])
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


SYMBOLS_ARGS = ("--shard", "0", "--symbols", ",".join(SYMBOLS), "--session", "continuous")


# --- tests ---------------------------------------------------------------------------------


def test_every_command_comes_out_in_order_with_contiguous_seqs_and_duplicates_dropped(
    processes,
):
    commands = workload(4000)
    new_ids = [c[3] for c in commands if c[0] == "new"]
    assert len(set(new_ids)) < len(new_ids)  # the workload re-sends some orders
    proc = processes.matcher(*SYMBOLS_ARGS)
    wait_until(progress, STARTUP_S, "the matcher's initial state")
    publish_commands(0, commands[:1])  # a single command: the quiet-line path
    wait_all_processed()
    publish_commands(0, commands[1:])  # then everything at once: the batch path
    wait_all_processed()

    events = published()
    assert events == reference_events(commands)
    assert [e[1] for e in events] == list(range(1, len(events) + 1))
    assert_output_entries_consistent()
    accepted = [e[4] for e in events if e[0] == "accepted"]
    assert len(accepted) == len(set(accepted))  # a re-sent order id is never accepted twice
    assert redis_client().xinfo_groups(input_stream(0))[0]["pending"] == 0  # all acked
    wait_until(
        lambda: metrics_snapshot(0).get("total_commands") == len(commands), 10, "the metrics"
    )
    metrics = metrics_snapshot(0)
    assert metrics["total_events"] == len(events)
    assert metrics["lag_entries"] == 0 and metrics["role"] == "primary"

    # SIGTERM: a last snapshot at the last input, and the lease handed back at once.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    r = redis_client()
    assert r.hget(shard_key(0, "snapshot"), "in_id") == last_input_id()
    assert not r.exists(shard_key(0, "lease"))


def test_kill_9_and_restart_reproduce_the_uninterrupted_run(processes):
    commands = workload(12_000, seed=11)
    proc = processes.matcher(*SYMBOLS_ARGS, "--snapshot-every", "1500")
    wait_until(progress, STARTUP_S, "the matcher's initial state")
    publisher = publish_in_chunks(commands, chunk=200, pause=0.03)
    r = redis_client()
    wait_until(
        lambda: (
            (p := progress())
            and p[1] > 5000
            and r.hget(shard_key(0, "snapshot"), "in_id") != b"0-0"
        ),
        30,
        "a snapshot and some progress",
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = progress()
    snapshot_in_id = r.hget(shard_key(0, "snapshot"), "in_id")
    assert snapshot_in_id != b"0-0"

    processes.matcher(*SYMBOLS_ARGS, "--snapshot-every", "1500")
    publisher.join()
    wait_all_processed(timeout=60)

    events = published()
    assert killed_at[1] < len(events)  # the kill really was mid-stream
    assert events == reference_events(commands)
    assert [e[1] for e in events] == list(range(1, len(events) + 1))
    assert_output_entries_consistent()
    assert "restored snapshot" in processes.logs()


def test_standby_takes_over_within_two_seconds_without_gaps_or_repeats(processes):
    commands = workload(12_000, seed=23)
    # Started together (process start-up is most of this test's time); whichever takes the
    # lease first is the primary, the other one follows.
    started = [
        processes.matcher(*SYMBOLS_ARGS, "--snapshot-every", "1500"),
        processes.matcher(*SYMBOLS_ARGS, "--standby", "--snapshot-every", "1500"),
    ]
    r = redis_client()
    wait_until(lambda: r.exists(shard_key(0, "standby")), STARTUP_S, "the standby's heartbeat")
    lease_key = shard_key(0, "lease")
    primary_token = r.get(lease_key)
    primary_pid = int(primary_token.split(b":")[1])
    [primary] = [p for p in started if p.pid == primary_pid]

    publisher = publish_in_chunks(commands, chunk=200, pause=0.03)
    wait_until(lambda: (p := progress()) and p[1] > 4000, 30, "the primary's progress")
    primary.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    primary.wait()
    wait_until(
        lambda: (holder := r.get(lease_key)) and holder != primary_token, 5, "a new lease holder"
    )
    took_over = time.monotonic() - killed
    stalled_at = progress()
    wait_until(lambda: progress() != stalled_at, 5, "the standby publishing")
    publishing_again = time.monotonic() - killed
    publisher.join()
    wait_all_processed(timeout=60)

    assert took_over < 2.0, f"took {took_over:.2f}s to take the lease"
    assert publishing_again < 2.5, f"took {publishing_again:.2f}s to publish again"
    events = published()
    assert events == reference_events(commands)
    assert [e[1] for e in events] == list(range(1, len(events) + 1))
    assert_output_entries_consistent()
    assert "leading from input" in processes.logs()


@pytest.mark.django_db(transaction=True)
def test_rebuild_from_postgres_when_redis_lost_everything(processes):
    instrument = EquityFactory(symbol="REBLD", shard=0, reference_price=Decimal(100))
    ShardProgress.objects.create(shard=0, last_seq=500)
    # Two resting sells at the same price: the one with the lower engine sequence has priority
    # even though it was created later.
    second = OrderFactory(
        instrument=instrument, side=Side.SELL, limit_price=Decimal("100.00"),
        quantity=Decimal(10), status=OrderStatus.NEW, engine_sequence=420,
    )  # fmt: skip
    first = OrderFactory(
        instrument=instrument, side=Side.SELL, limit_price=Decimal("100.00"),
        quantity=Decimal(10), filled_quantity=Decimal(4), status=OrderStatus.PARTIALLY_FILLED,
        engine_sequence=410,
    )  # fmt: skip
    pending = OrderFactory(
        instrument=instrument, side=Side.BUY, limit_price=Decimal("99.00"),
        quantity=Decimal(5), status=OrderStatus.PENDING_NEW,
    )  # fmt: skip

    processes.matcher("--shard", "0", "--session", "continuous", db=True)
    wait_until(lambda: any(e[0] == "accepted" for e in published()), STARTUP_S, "the re-sent order")
    buyer = OrderFactory.build(
        instrument=instrument, side=Side.BUY, limit_price=Decimal("100.00"), quantity=Decimal(8)
    )
    publish_commands(0, [new_order_command(buyer, ts_ns=time.time_ns())])
    wait_until(lambda: sum(e[0] == "trade" for e in published()) >= 2, 20, "the trades")

    events = published()
    assert events[0][1] == 501  # the sequence goes on after what Postgres recorded
    assert [e[1] for e in events] == list(range(501, 501 + len(events)))
    assert events[0][0] == "accepted" and events[0][4] == str(pending.id)
    trades = [e for e in events if e[0] == "trade"]
    # Priority from engine_sequence: the partially filled order (6 left) first, then 2 of the other.
    assert [(t[10], t[5]) for t in trades] == [(str(first.id), 6), (str(second.id), 2)]
