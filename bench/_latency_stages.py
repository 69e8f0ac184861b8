"""Where an order's fill latency goes at idle: crossing pairs sent one at a time, each buy's
path from its POST to its ``fill`` on the trade-updates WebSocket split into stages.

    .venv/bin/python bench/_latency_stages.py [--pairs N]

A helper of ``bench/order_flow.py`` (``make bench`` skips it), whose latency row it explains:
the same throwaway database, private prefixes and production processes (gunicorn, daphne,
``run_matcher``, ``run_applier``), the same client code. With no load, what is left is each
stage's own cost. Stages come from the client's clock and from timestamps the servers write on
the same machine's clock. Each milestone is timed from the moment the buy's POST was sent:

- the view: ``submitted_at`` (HTTP, middleware, authentication, validation, the cash lock);
- matched: the trade's engine time, ``executed_at`` (the order committed and published, the
  matcher read the command and matched it);
- committed: the order row's last write, ``updated_at`` (set in the applier's transaction just
  before its commit);
- on the socket: the ``fill`` frame arrived (publish, channel layer, the stream's consumer
  reading the order, the WebSocket frame);

with the step from the milestone before, and the POST's answer (the client's own wait), which
the matcher does not wait for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import bench.order_flow as flow  # noqa: E402  (sets the database, prefixes and Django up)

MILESTONES = ["the view", "matched", "committed", "on the socket"]


def milestones(order_id: str, sent_ns: int, answered_ns: int, fill_ns: int) -> list[float]:
    """Milliseconds from the POST's sending to each milestone, then to the POST's answer."""
    from apps.orders.models import Execution, Order

    order = Order.objects.get(pk=order_id)
    executed = Execution.objects.filter(order=order).order_by("executed_at").last()
    points = [
        int(order.submitted_at.timestamp() * 1e9),
        int(executed.executed_at.timestamp() * 1e9),
        int(order.updated_at.timestamp() * 1e9),
        fill_ns,
        answered_ns,
    ]
    return [(point - sent_ns) / 1e6 for point in points]


async def pairs(web_port: int, ws_port: int, keys: dict, count: int) -> list[tuple]:
    updates = flow.TradeUpdates(ws_port)
    buyer = keys[flow.RETAIL[0]]
    await updates.open(buyer)
    await asyncio.sleep(0.5)
    connection = flow.HttpConnection(web_port)
    sent: list[tuple] = []
    for n in range(count):
        symbol, qty, price = flow.SYMBOLS[n % len(flow.SYMBOLS)]
        status, reply = await connection.post(
            "/v2/orders",
            flow.key_headers(keys[flow.MAKER]),
            flow.limit_order(symbol, qty, "sell", price),
        )
        assert status == 200, flow.error_text(status, reply)
        await asyncio.sleep(0.05)  # the sell rests before the buy arrives
        sent_ns = time.time_ns()
        status, reply = await connection.post(
            "/v2/orders", flow.key_headers(buyer), flow.limit_order(symbol, qty, "buy", price)
        )
        answered_ns = time.time_ns()
        assert status == 200, flow.error_text(status, reply)
        order_id = json.loads(reply)["id"]
        deadline = time.monotonic() + 5
        while order_id not in updates.fills and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
        if order_id in updates.fills:
            # TradeUpdates stamps arrivals with perf_counter_ns; move it to the wall clock.
            offset = time.time_ns() - time.perf_counter_ns()
            sent.append((order_id, sent_ns, answered_ns, updates.fills[order_id] + offset))
        await asyncio.sleep(0.2)  # idle between pairs
    await connection.close()
    await updates.close()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30)
    args = parser.parse_args()
    keys = flow.create_database()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-latency-stages-"))
    processes = flow.Processes(log_dir)
    try:
        ports = flow.start_servers(processes, bare=False)
        sent = asyncio.run(pairs(ports.web, ports.ws, keys, args.pairs))
        processes.check_alive()
        rows = [milestones(*item) for item in sent[3:]]  # the first few warm the processes up
    finally:
        flow.clean_up(processes)
        shutil.rmtree(log_dir, ignore_errors=True)
    print(f"machine: {flow.machine()}; python speed {flow.python_speed_us()} us")
    print(
        f"{len(rows)} fills at idle (of {len(sent)} received; the first 3 left out),"
        " ms after the POST:"
    )
    print(f"{'milestone':<16} {'median':>8} {'min':>8} {'max':>8} {'step (median)':>14}")
    previous = [0.0] * len(rows)
    for i, name in enumerate([*MILESTONES, "POST answered"]):
        values = [r[i] for r in rows]
        steps = [v - p for v, p in zip(values, previous, strict=True)]
        step = f"{statistics.median(steps):>14.2f}" if i < len(MILESTONES) else ""
        print(
            f"{name:<16} {statistics.median(values):>8.2f} {min(values):>8.2f} "
            f"{max(values):>8.2f} {step}"
        )
        previous = values if i < len(MILESTONES) else previous


if __name__ == "__main__":
    main()
