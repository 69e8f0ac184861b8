"""Stop, stop-limit, iceberg, hidden and post-only orders."""

from .conftest import Venue, fills, kinds, of


def test_buy_stop_waits_off_book_until_a_trade_reaches_the_stop_then_enters_as_market(venue):
    venue.sell("s1", 5, 100)
    venue.sell("s2", 5, 105)
    events = venue.buy("stop1", 5, order_type="stop", stop_price=100)
    assert kinds(events) == ["accepted"]
    assert venue.depth()["buy"] == []
    events = venue.buy("b1", 5, 100)  # prints at 100: the stop triggers
    assert fills(events) == [("b1", "s1", 100, 5), ("stop1", "s2", 105, 5)]
    trig = of(events, "triggered")[0]
    assert (trig["order_id"], trig["stop_price"], trig["last_price"]) == ("stop1", 100, 100)
    assert kinds(events) == ["accepted", "trade", "book", "triggered", "trade", "book", "top"]


def test_sell_stop_limit_triggers_on_a_trade_at_or_below_the_stop_and_rests_as_limit(venue):
    venue.buy("b1", 5, 95)
    assert kinds(venue.sell("st", 5, 97, order_type="stop_limit", stop_price=95)) == ["accepted"]
    events = venue.sell("s1", 5, 95)
    assert fills(events) == [("s1", "b1", 95, 5)]
    assert of(events, "triggered")[0]["order_id"] == "st"
    assert venue.depth()["sell"] == [(97, 5, 1)]


def test_stops_cascade_in_trigger_order(venue):
    venue.sell("s1", 1, 100)
    venue.sell("s2", 1, 101)
    venue.sell("s3", 1, 102)
    venue.buy("st2", 1, order_type="stop", stop_price=101)
    venue.buy("st1", 1, order_type="stop", stop_price=100)
    events = venue.buy("b1", 1, 100)
    assert [t[0] for t in fills(events)] == ["b1", "st1", "st2"]


def test_stop_already_reached_by_the_last_price_triggers_at_entry(venue):
    venue.sell("s1", 1, 100)
    venue.buy("b1", 1, 100)
    venue.sell("s2", 1, 101)
    events = venue.buy("st", 1, order_type="stop", stop_price=99)
    assert kinds(events)[:2] == ["accepted", "triggered"]
    assert fills(events) == [("st", "s2", 101, 1)]


def test_canceling_a_pending_stop_removes_it(venue):
    venue.buy("st", 1, order_type="stop", stop_price=101)
    assert venue.cancel("st")[0]["reason"] == "user"
    venue.sell("s1", 1, 101)
    assert "triggered" not in kinds(venue.buy("b1", 1, 101))


def test_iceberg_displays_only_its_slice(venue):
    events = venue.sell("ice", 100, 100, display_qty=10)
    assert of(events, "book")[0]["qty"] == 10
    assert venue.depth()["sell"] == [(100, 10, 1)]


def test_iceberg_refill_goes_to_the_back_of_its_level(venue):
    venue.sell("ice", 30, 100, display_qty=10)
    venue.sell("s2", 10, 100)
    events = venue.buy("b1", 25, 100)
    # the slice (10), then s2 (who was ahead of the refill), then the refilled slice
    assert fills(events) == [("b1", "ice", 100, 10), ("b1", "s2", 100, 10), ("b1", "ice", 100, 5)]
    assert venue.depth()["sell"] == [(100, 5, 1)]
    trades = of(events, "trade")
    assert trades[-1]["maker_leaves"] == 15


def test_incoming_iceberg_takes_with_its_full_quantity(venue):
    venue.sell("s1", 30, 100)
    events = venue.buy("ice", 50, 100, display_qty=5)
    assert fills(events) == [("ice", "s1", 100, 30)]
    assert venue.depth()["buy"] == [(100, 5, 1)]


def test_hidden_order_is_not_displayed(venue):
    events = venue.buy("h1", 10, 100, hidden=True)
    assert kinds(events) == ["accepted"]
    assert venue.depth()["buy"] == []


def test_hidden_order_fills_after_displayed_orders_at_the_same_price(venue):
    venue.sell("h1", 10, 100, hidden=True)
    venue.sell("d1", 10, 100)
    events = venue.buy("b1", 15, 100)
    assert fills(events) == [("b1", "d1", 100, 10), ("b1", "h1", 100, 5)]


def test_hidden_order_at_a_better_price_fills_first(venue):
    venue.sell("d1", 10, 101)
    venue.sell("h1", 10, 100, hidden=True)
    assert fills(venue.buy("b1", 5, 101)) == [("b1", "h1", 100, 5)]


def test_top_of_book_skips_a_level_that_only_has_hidden_orders(venue):
    venue.buy("d1", 5, 99)
    events = venue.buy("h1", 5, 100, hidden=True)
    assert "top" not in kinds(events)
    assert venue.depth()["buy"] == [(99, 5, 1)]


def test_post_only_order_that_would_take_is_rejected(venue):
    venue.sell("s1", 5, 100)
    events = venue.buy("po", 5, 100, post_only=True)
    assert kinds(events) == ["rejected"]
    assert events[0]["reason"] == "post_only_would_take"
    assert kinds(venue.buy("po2", 5, 99, post_only=True)) == ["accepted", "book", "top"]


def test_post_only_would_take_a_hidden_order_too(venue):
    venue.sell("h1", 5, 100, hidden=True)
    assert venue.buy("po", 5, 100, post_only=True)[0]["reason"] == "post_only_would_take"


def test_meaningless_combinations_are_rejected_invalid_order(venue):
    assert venue.buy("a", 5, order_type="market", post_only=True)[0]["reason"] == "invalid_order"
    assert venue.buy("b", 5, 100, display_qty=2, hidden=True)[0]["reason"] == "invalid_order"
    assert venue.buy("c", 5, 100, tif="ioc", post_only=True)[0]["reason"] == "invalid_order"
    assert venue.buy("d", 5, 100, tif="forever")[0]["reason"] == "invalid_order"
    assert venue.buy("e", 5, order_type="stop")[0]["reason"] == "invalid_price"


def test_pro_rata_shares_a_level_in_proportion_with_time_priority_remainder():
    venue = Venue(algorithm="pro_rata")
    venue.sell("s1", 10, 100)
    venue.sell("s2", 30, 100)
    venue.sell("s3", 60, 100)
    events = venue.buy("b1", 11, 100)
    # 11*10/100 = 1.1 -> 1, 11*30/100 = 3.3 -> 3, 11*60/100 = 6.6 -> 6; 1 left to s1 (oldest)
    assert fills(events) == [("b1", "s1", 100, 2), ("b1", "s2", 100, 3), ("b1", "s3", 100, 6)]
    assert venue.depth()["sell"] == [(100, 89, 3)]


def test_pro_rata_fills_everything_when_the_taker_is_larger_than_the_level():
    venue = Venue(algorithm="pro_rata")
    venue.sell("s1", 10, 100)
    venue.sell("s2", 5, 101)
    events = venue.buy("b1", 12, 101)
    assert fills(events) == [("b1", "s1", 100, 10), ("b1", "s2", 101, 2)]
