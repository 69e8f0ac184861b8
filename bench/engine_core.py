"""Benchmark: the matching engine core against the shared reference book, same run, same events.

    .venv/bin/python bench/engine_core.py [--events N] [--seed S]

Generates the shared workload (10 symbols), feeds it to the reference book and to our core (the
interpreted module and, when built with scripts/build_engine.sh, the mypyc-compiled one), checks
that the core reproduces the reference checksums, prints a table and writes
bench/results/engine_core.json. Throughput is a plain loop over all events; latency is a second
pass timing every event with perf_counter_ns, done the same way for every row. Throughput is the
best of --rounds runs per row, the rows taking turns, so that a busy machine (this one is shared
by CI and other work) penalizes every row alike; the load average is recorded with the results.
Each row also gets events per CPU-second of this process (``cpu_events_per_s``, best of the same
runs): on a shared machine the wall clock also measures how much CPU the neighbours left us, the
CPU clock much less so (cache and memory contention remain). The wall-clock rate is the headline.

The core runs as in real use: it emits every event (accepted, trades, canceled, book deltas,
top of book). Workload mapping: LIMIT and CROSS are GTC limit orders, MARKET is an IOC market
order, CANCEL of an unknown or filled id gives a `rejected unknown_order` event. No accounts and
no reference prices in the workload: price bands and self-trade prevention are off.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = Path(
    os.environ.get("BROKERAGE_SHARED_BENCH") or Path(__file__).resolve().parents[2] / "shared/bench"
)
RESULTS = REPO / "bench" / "results" / "engine_core.json"
# The reference checksums for seed 42, 1,000,000 events, 10 symbols (reference_book.py).
EXPECTED_1M_SEED42 = {"filled": 8812231, "cancels": 111860, "resting": 112672}

sys.path.insert(0, str(SHARED_BENCH))
sys.path.insert(0, str(REPO))
from reference_book import ReferenceAdapter  # noqa: E402
from reference_book import run as run_reference  # noqa: E402
from workload import CANCEL, CROSS, LIMIT, generate  # noqa: E402

from bench._common import machine, percentiles  # noqa: E402


def load_core_modules() -> list[tuple[str, ModuleType]]:
    """The interpreted core (always) and the mypyc-compiled one (when built)."""
    source = REPO / "apps" / "matching" / "engine" / "core.py"
    spec = importlib.util.spec_from_file_location("engine_core_interpreted", source)
    assert spec is not None and spec.loader is not None
    interpreted = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = interpreted
    spec.loader.exec_module(interpreted)
    modules = [("core (interpreted)", interpreted)]
    from apps.matching.engine import native_core

    if native_core is not None:
        modules.append(("core (mypyc)", native_core))
    else:
        print("no fresh mypyc build of the core (scripts/build_engine.sh): interpreted row only")
    return modules


def new_engine(core: ModuleType, symbols: list[str]) -> Any:
    engine = core.Engine(shard=0)
    for sym in symbols:
        engine.register(core.InstrumentSpec(sym, self_trade_prevention=False))
    return engine


def core_commands(events: list[tuple]) -> list[tuple]:
    """The workload as engine command tuples (the shape the matcher gets from the stream)."""
    sides = ("buy", "sell")
    cmds = []
    append = cmds.append
    for ts, (kind, sym, oid, side, price, qty) in enumerate(events):
        if kind in (LIMIT, CROSS):
            append(("new", ts, sym, oid, None, sides[side], "limit", "gtc", qty, price,
                    None, 0, False, False, None, None))  # fmt: skip
        elif kind == CANCEL:
            append(("cancel", ts, sym, oid, None))
        else:
            append(("new", ts, sym, oid, None, sides[side], "market", "ioc", qty, None,
                    None, 0, False, False, None, None))  # fmt: skip
    return cmds


def run_core_throughput(core: ModuleType, symbols: list[str], cmds: list[tuple]) -> dict:
    engine = new_engine(core, symbols)
    process = engine.process
    emitted = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    for cmd in cmds:
        emitted += len(process(cmd))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {
        "events_per_s": len(cmds) / elapsed,
        "cpu_events_per_s": len(cmds) / cpu,
        "emitted": emitted,
    }


def run_reference_throughput(events: list[tuple]) -> dict:
    """The shared ``run()`` of the reference book, with the CPU time it took."""
    cpu_start = time.process_time()
    result = run_reference(ReferenceAdapter, events)
    result["cpu_events_per_s"] = len(events) / (time.process_time() - cpu_start)
    return result


def run_core_latency(core: ModuleType, symbols: list[str], cmds: list[tuple]) -> dict:
    """Time every event; add up the checksums outside the timed region."""
    engine = new_engine(core, symbols)
    process = engine.process
    clock = time.perf_counter_ns
    samples = [0] * len(cmds)
    filled = cancels = 0
    for i, cmd in enumerate(cmds):
        t0 = clock()
        out = process(cmd)
        samples[i] = clock() - t0
        for ev in out:
            kind = ev[0]
            if kind == "trade":
                filled += ev[5]
            elif kind == "canceled" and ev[6] == "user":
                cancels += 1
    return {
        "samples": samples,
        "filled": filled,
        "cancels": cancels,
        "resting": engine.resting_count(),
    }


def run_reference_latency(events: list[tuple]) -> list[int]:
    symbols = sorted({e[1] for e in events})
    book = ReferenceAdapter(symbols)
    clock = time.perf_counter_ns
    samples = [0] * len(events)
    for i, (kind, sym, oid, side, price, qty) in enumerate(events):
        if kind == LIMIT:
            t0 = clock()
            book.limit(sym, oid, side, price, qty)
        elif kind == CANCEL:
            t0 = clock()
            book.cancel(sym, oid)
        elif kind == CROSS:
            t0 = clock()
            book.cross(sym, oid, side, price, qty)
        else:
            t0 = clock()
            book.market(sym, oid, side, qty)
        samples[i] = clock() - t0
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="throughput runs per row (best kept)")
    args = ap.parse_args()

    events = generate(args.events, args.symbols, args.seed)
    symbols = sorted({e[1] for e in events})
    cmds = core_commands(events)
    gc.collect()
    gc.freeze()  # the workload lists are read-only: keep the collector off them for every row
    mach = machine()
    rows: list[dict[str, Any]] = []
    ok = True

    cores = load_core_modules()
    rates: dict[str, float] = {}
    cpu_rates: dict[str, float] = {}
    ref: dict[str, Any] = {}
    emitted: dict[str, int] = {}
    for _ in range(args.rounds):
        gc.collect()
        result = run_reference_throughput(events)
        ref = result
        rates["reference"] = max(rates.get("reference", 0.0), result["events_per_s"])
        cpu_rates["reference"] = max(cpu_rates.get("reference", 0.0), result["cpu_events_per_s"])
        for name, core in cores:
            gc.collect()
            thr = run_core_throughput(core, symbols, cmds)
            rates[name] = max(rates.get(name, 0.0), thr["events_per_s"])
            cpu_rates[name] = max(cpu_rates.get(name, 0.0), thr["cpu_events_per_s"])
            emitted[name] = thr["emitted"]

    gc.collect()
    ref_lat = percentiles(run_reference_latency(events))
    rows.append(_row("reference (sortedcontainers book)", rates["reference"], ref_lat, mach))
    rows[0]["cpu_events_per_s"] = round(cpu_rates["reference"])
    expected = {k: ref[k] for k in ("filled", "cancels", "resting")}
    print(f"reference checksums: {expected}")
    if (args.events, args.seed, args.symbols) == (1_000_000, 42, 10) and (
        expected != EXPECTED_1M_SEED42
    ):
        print(f"  reference differs from the published checksums {EXPECTED_1M_SEED42}")
        ok = False

    for name, core in cores:
        gc.collect()
        lat = run_core_latency(core, symbols, cmds)
        got = {k: lat[k] for k in ("filled", "cancels", "resting")}
        match = got == expected
        ok = ok and match
        print(
            f"{name} checksums: {got} {'OK' if match else 'MISMATCH'};"
            f" {emitted[name]:,} events emitted"
        )
        row = _row(name, rates[name], percentiles(lat["samples"]), mach)
        row["cpu_events_per_s"] = round(cpu_rates[name])
        row["events_emitted"] = emitted[name]
        row["checksums_ok"] = match
        rows.append(row)

    ref_rate = rows[0]["events_per_s"]
    ref_cpu_rate = rows[0]["cpu_events_per_s"]
    print()
    print(
        f"{'name':36} {'events/s':>12} {'x ref':>6} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9}"
        f" {'per cpu-s':>11} {'x ref':>6}"
    )
    for r in rows:
        print(
            f"{r['name']:36} {r['events_per_s']:>12,.0f} {r['events_per_s'] / ref_rate:>6.2f}"
            f" {r['p50_us']:>8.2f} {r['p99_us']:>8.2f} {r['p999_us']:>9.2f}"
            f" {r['cpu_events_per_s']:>11,.0f} {r['cpu_events_per_s'] / ref_cpu_rate:>6.2f}"
        )
    load = os.getloadavg()
    print(f"machine: {mach}; {args.events:,} events, {args.symbols} symbols, seed {args.seed}")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cpus)")
    for r in rows:
        r["load_avg_1m"] = round(load[0], 2)
        r["x_reference"] = round(r["events_per_s"] / ref_rate, 2)
        r["x_reference_cpu"] = round(r["cpu_events_per_s"] / ref_cpu_rate, 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0 if ok else 1


def _row(name: str, rate: float, lat: tuple[float, float, float], mach: str) -> dict[str, Any]:
    return {
        "name": name,
        "events_per_s": round(rate),
        "p50_us": round(lat[0], 2),
        "p99_us": round(lat[1], 2),
        "p999_us": round(lat[2], 2),
        "machine": mach,
    }


if __name__ == "__main__":
    sys.exit(main())
