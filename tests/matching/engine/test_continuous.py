"""Limit, market and cancel in continuous trading: price-time priority and the events."""

from apps.matching.engine import NewOrder

from .conftest import SYMBOL, Venue, core, fills, kinds, of


def test_passive_limit_order_rests_and_publishes_accepted_depth_and_top(venue):
    events = venue.buy("b1", 10, 100, account=1)
    assert kinds(events) == ["accepted", "book", "top"]
    assert events[0] | {} == {
        "kind": "accepted", "seq": 1, "ts_ns": 1000, "symbol": SYMBOL, "order_id": "b1",
        "account": 1, "side": "buy", "price": 100, "qty": 10,
    }  # fmt: skip
    assert events[1]["side"] == "buy" and events[1]["qty"] == 10 and events[1]["order_count"] == 1
    assert (events[2]["bid_price"], events[2]["bid_qty"], events[2]["ask_price"]) == (100, 10, None)


def test_sequence_numbers_rise_by_one_per_event_and_carry_the_command_time(venue):
    venue.buy("b1", 10, 100)
    venue.sell("s1", 4, 100)
    seqs = [e[1] for e in venue.log]
    assert seqs == list(range(1, len(seqs) + 1))
    assert {e[2] for e in venue.log} == {1000, 2000}


def test_crossing_limit_order_trades_at_the_resting_price(venue):
    venue.sell("s1", 5, 101)
    events = venue.buy("b1", 5, 103)
    assert fills(events) == [("b1", "s1", 101, 5)]
    trade = of(events, "trade")[0]
    assert trade["aggressor_side"] == "buy"
    assert (trade["taker_leaves"], trade["maker_leaves"]) == (0, 0)


def test_orders_at_one_price_fill_in_time_priority(venue):
    venue.sell("s1", 3, 100)
    venue.sell("s2", 3, 100)
    venue.sell("s3", 3, 100)
    events = venue.buy("b1", 7, 100)
    assert fills(events) == [("b1", "s1", 100, 3), ("b1", "s2", 100, 3), ("b1", "s3", 100, 1)]
    assert venue.depth()["sell"] == [(100, 2, 1)]


def test_better_price_fills_before_earlier_order(venue):
    venue.sell("s1", 3, 101)
    venue.sell("s2", 3, 100)
    events = venue.buy("b1", 6, 101)
    assert fills(events) == [("b1", "s2", 100, 3), ("b1", "s1", 101, 3)]


def test_unfilled_rest_of_a_crossing_limit_order_rests_at_its_limit(venue):
    venue.sell("s1", 3, 100)
    events = venue.buy("b1", 10, 101)
    assert fills(events) == [("b1", "s1", 100, 3)]
    assert venue.depth() == {"buy": [(101, 7, 1)], "sell": []}
    assert kinds(events) == ["accepted", "trade", "book", "book", "top"]


def test_market_order_sweeps_levels_and_cancels_the_remainder(venue):
    venue.sell("s1", 3, 100)
    venue.sell("s2", 3, 102)
    events = venue.buy("m1", 10, order_type="market", tif="ioc")
    assert fills(events) == [("m1", "s1", 100, 3), ("m1", "s2", 102, 3)]
    cancel = of(events, "canceled")[0]
    assert (cancel["order_id"], cancel["reason"], cancel["canceled_qty"]) == (
        "m1",
        "market_remainder",
        4,
    )
    assert venue.depth() == {"buy": [], "sell": []}


def test_market_order_never_trades_outside_the_static_band():
    venue = Venue(band_low=90, band_high=110)
    venue.sell("s1", 3, 105)
    venue.sell("s2", 3, 110)
    # An ask above the band can only come from a band change; simulate one.
    venue.engine.register(core().InstrumentSpec(SYMBOL, band_low=90, band_high=106))
    events = venue.buy("m1", 10, order_type="market")
    assert fills(events) == [("m1", "s1", 105, 3)]
    assert of(events, "canceled")[0]["canceled_qty"] == 7


def test_market_order_on_an_empty_book_is_canceled_without_trades(venue):
    events = venue.sell("m1", 5, order_type="market")
    assert kinds(events) == ["accepted", "canceled"]
    assert of(events, "canceled")[0]["reason"] == "market_remainder"


def test_cancel_removes_the_order_and_publishes_depth(venue):
    venue.buy("b1", 10, 100)
    events = venue.cancel("b1")
    assert kinds(events) == ["canceled", "book", "top"]
    assert events[0]["reason"] == "user" and events[0]["canceled_qty"] == 10
    assert (events[1]["qty"], events[1]["order_count"]) == (0, 0)
    assert venue.depth() == {"buy": [], "sell": []}


def test_cancel_of_an_unknown_or_filled_order_is_rejected_unknown_order(venue):
    venue.buy("b1", 5, 100)
    venue.sell("s1", 5, 100)
    for oid in ("b1", "nope"):
        events = venue.cancel(oid)
        assert kinds(events) == ["rejected"]
        assert (events[0]["reason"], events[0]["request"]) == ("unknown_order", "cancel")


def test_canceled_order_is_skipped_by_later_matching(venue):
    venue.sell("s1", 5, 100)
    venue.sell("s2", 5, 100)
    venue.cancel("s1")
    assert fills(venue.buy("b1", 5, 100)) == [("b1", "s2", 100, 5)]


def test_cancel_with_another_account_is_rejected(venue):
    venue.buy("b1", 5, 100, account=1)
    assert venue.cancel("b1", account=2)[0]["reason"] == "unknown_order"


def test_partial_fill_reports_leaves_of_both_sides(venue):
    venue.sell("s1", 10, 100)
    trade = of(venue.buy("b1", 4, 100), "trade")[0]
    assert (trade["taker_leaves"], trade["maker_leaves"]) == (0, 6)


def test_top_of_book_is_published_only_when_it_changes(venue):
    venue.buy("b1", 10, 100)
    assert "top" not in kinds(venue.buy("b2", 10, 99))
    assert "top" in kinds(venue.buy("b3", 10, 100))


def test_new_order_for_an_unknown_symbol_is_rejected():
    venue = Venue()
    events = venue.buy("b1", 10, 100, symbol="NOPE")
    assert kinds(events) == ["rejected"] and events[0]["reason"] == "unknown_symbol"


def test_invalid_quantity_and_price_are_rejected(venue):
    assert venue.buy("b1", 0, 100)[0]["reason"] == "invalid_quantity"
    assert venue.buy("b2", -3, 100)[0]["reason"] == "invalid_quantity"
    assert venue.buy("b3", 10, None)[0]["reason"] == "invalid_price"
    assert venue.buy("b4", 10, 0)[0]["reason"] == "invalid_price"
    assert venue.order("b5", "sideways", 10, 100)[0]["reason"] == "invalid_order"


def test_limit_order_outside_the_static_band_is_rejected():
    venue = Venue(band_low=90, band_high=110)
    assert venue.buy("b1", 1, 111)[0]["reason"] == "price_outside_band"
    assert venue.sell("s1", 1, 89)[0]["reason"] == "price_outside_band"
    assert kinds(venue.buy("b2", 1, 110)) == ["accepted", "book", "top"]


def test_resent_new_order_with_a_seen_id_is_dropped_without_an_event(venue):
    venue.buy("b1", 10, 100)
    assert venue.buy("b1", 10, 100) == []
    venue.cancel("b1")
    assert venue.buy("b1", 10, 100) == []  # finished orders stay seen
    assert venue.buy("x", 0, 100)[0]["reason"] == "invalid_quantity"
    assert venue.buy("x", 10, 100) == []  # so do rejected ones


def test_book_delta_per_level_swept_reports_what_is_left(venue):
    venue.sell("s1", 3, 100)
    venue.sell("s2", 4, 101)
    events = venue.buy("b1", 5, 101)
    books = [(e["price"], e["qty"], e["order_count"]) for e in of(events, "book")]
    assert books == [(100, 0, 0), (101, 2, 1)]


def test_engines_share_no_state():
    a, b = core().Engine(), core().Engine()
    a.register(core().InstrumentSpec(SYMBOL))
    assert b.process(
        NewOrder(ts_ns=1, symbol=SYMBOL, order_id=1, side="buy", qty=1, price=1)
    )[0][6] == "unknown_symbol"  # fmt: skip


def test_either_cores_instrument_spec_registers_in_either_engine():
    from apps.matching.engine import pure_core

    engine = core().Engine()
    engine.register(pure_core.InstrumentSpec("X"))
    events = engine.process(NewOrder(ts_ns=1, symbol="X", order_id=1, side="buy", qty=1, price=1))
    assert events[0][0] == "accepted"


def test_cancels_deep_in_a_level_leave_the_rest_in_time_priority(venue):
    for i in range(60):
        venue.sell(f"s{i}", 1, 100)
    kept = [f"s{i}" for i in range(60) if i % 5 == 0]
    for i in range(60):
        if i % 5:
            events = venue.cancel(f"s{i}")
            assert of(events, "book")[0]["qty"] == of(events, "book")[0]["order_count"]
    assert venue.depth()["sell"] == [(100, 12, 12)]
    # Canceled orders do not pile up in the level's queue (they are swept out in bulk).
    level = venue.engine.books[SYMBOL].asks.lvls[-1]
    assert len(level.queue) - level.head <= 2 * level.count + 8
    events = venue.buy("b1", 12, 100)
    assert [maker for _, maker, _, _ in fills(events)] == kept
    assert venue.depth()["sell"] == []
