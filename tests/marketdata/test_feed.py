"""The reference feed handler against the simulator's injected faults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.instruments.models import Instrument
from apps.marketdata.feed import FeedHandler
from apps.marketdata.simulator import FaultRates, FeedMessage, ReferenceFeedSimulator
from apps.risk.models import RiskAlert
from tests.instruments.factories import EquityFactory

D = Decimal
TICKS = {"AAA": D("0.01"), "BBB": D("0.01")}


def handler_for(simulator, **kwargs):
    alerts = []
    handler = FeedHandler(
        source=simulator, tick_sizes=TICKS, alert=lambda c, m: alerts.append(c), **kwargs
    )
    return handler, alerts


def msg(seq, symbol="AAA", ticks=10_000):
    return FeedMessage("SIM", seq, symbol, ticks, seq)


def test_duplicates_are_dropped():
    handler, alerts = handler_for(ReferenceFeedSimulator({"AAA": 10_000}))
    handler.poll([msg(1), msg(1), msg(2, ticks=10_001), msg(2), msg(1)])
    assert handler.stats.delivered == 2 and handler.stats.duplicates == 3
    assert handler.latest["AAA"] == D("100.01") and not alerts


def test_out_of_order_messages_are_reordered_within_the_window():
    handler, _alerts = handler_for(ReferenceFeedSimulator({"AAA": 10_000}))
    handler.poll([msg(1), msg(3, ticks=10_003), msg(2, ticks=10_002)])
    assert handler.expected == 4 and handler.stats.reordered == 1 and handler.stats.gaps == 0
    assert handler.latest["AAA"] == D("100.03")  # the newest, not the last to arrive


def test_a_gap_is_detected_and_recovered_by_retransmission():
    simulator = ReferenceFeedSimulator({"AAA": 10_000, "BBB": 5_000}, seed=7)
    wire = [m for _ in range(5) for m in simulator.next_batch()]  # seqs 1..10
    lost = wire.pop(3)
    handler, alerts = handler_for(simulator, max_wait_polls=0)
    handler.poll(wire)
    assert handler.stats.gaps == 1 and handler.stats.recovered == 1 and not alerts
    assert handler.expected == 11 and handler.stats.delivered == 10
    assert lost.seq < 11


def test_unrecoverable_gap_falls_back_to_a_snapshot_and_raises_an_alert():
    simulator = ReferenceFeedSimulator({"AAA": 10_000}, seed=1, history_size=3)
    wire = [m for _ in range(10) for m in simulator.next_batch()]
    handler, alerts = handler_for(simulator, max_wait_polls=0)
    handler.poll(wire[:2] + wire[6:])  # 3..6 lost and already out of the history
    assert handler.stats.snapshots == 1 and alerts == ["feed_gap_unrecoverable"]
    assert handler.expected == simulator.seq + 1
    assert handler.latest["AAA"] == Decimal(simulator.prices["AAA"]) * D("0.01")


def test_invalid_messages_are_dropped_with_an_alert():
    handler, alerts = handler_for(ReferenceFeedSimulator({"AAA": 10_000}))
    handler.poll([msg(1, symbol="ZZZ"), msg(1, ticks=-5), "garbage", msg(1)])
    assert handler.stats.invalid == 3 and handler.stats.delivered == 1
    assert set(alerts) == {"feed_invalid_message"}


def test_a_faulty_seeded_feed_ends_with_the_simulators_prices():
    faults = FaultRates(duplicate=0.05, gap=0.02, reorder=0.05)
    simulator = ReferenceFeedSimulator({"AAA": 10_000, "BBB": 5_000}, seed=42, faults=faults)
    handler, _alerts = handler_for(simulator)
    for _ in range(2_000):
        handler.poll(simulator.next_batch())
    handler.poll([])
    handler.poll([])
    handler.poll(simulator.next_batch())  # flushes anything still held by the simulator
    handler.poll([])
    handler.poll([])
    injected = simulator.injected
    assert injected["duplicate"] and injected["gap"] and injected["reorder"]
    assert handler.stats.duplicates >= injected["duplicate"]
    assert handler.stats.gaps and handler.stats.recovered
    assert handler.expected == simulator.seq + 1
    for symbol, ticks in simulator.prices.items():
        assert handler.latest[symbol] == Decimal(ticks) * D("0.01")


def test_reference_prices_are_written_at_most_once_per_interval():
    now = [0.0]
    writes = []
    handler = FeedHandler(
        source=ReferenceFeedSimulator({"AAA": 10_000}),
        tick_sizes=TICKS,
        store=writes.append,
        clock=lambda: now[0],
    )
    for seq in range(1, 41):
        handler.poll([msg(seq, ticks=10_000 + seq)])
        handler.flush()
        now[0] += 0.125
    assert len(writes) == 5  # t = 0, 1, 2, 3, 4 s
    assert writes[-1] == {"AAA": D("100.33")}


@pytest.mark.django_db
def test_the_handler_keeps_instrument_reference_prices_current_and_alerts_operations(md):
    from apps.marketdata.feed import build_simulated_feed

    EquityFactory(symbol="AAA", reference_price=D("100.00"))
    handler = build_simulated_feed(seed=3, faults=FaultRates())
    Instrument.objects.filter(symbol="AAA").update(reference_price=D("1.00"))
    for _ in range(10):
        handler.poll(handler.source.next_batch())
    handler.flush(force=True)
    price = Instrument.objects.get(symbol="AAA").reference_price
    assert price == handler.latest["AAA"] and abs(price - D(100)) < D(10)
    handler.poll([msg(10_000, symbol="NOPE")])
    alert = RiskAlert.objects.get(kind="data_quality")
    assert alert.code == "feed_invalid_message"
