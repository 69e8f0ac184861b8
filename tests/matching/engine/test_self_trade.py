"""Self-trade prevention: the incoming order's mode decides."""

from .conftest import Venue, fills, of


def _book(venue):
    venue.sell("own", 5, 100, account=7)
    venue.sell("other", 5, 100, account=8)


def test_cancel_newest_cancels_the_incoming_order_and_keeps_the_resting_one(venue):
    _book(venue)
    events = venue.buy("b", 8, 100, account=7)
    assert fills(events) == []
    assert [(e["order_id"], e["reason"], e["canceled_qty"]) for e in of(events, "canceled")] == [
        ("b", "self_trade", 8)
    ]
    assert venue.depth()["sell"] == [(100, 10, 2)]


def test_fills_before_the_own_order_stand_under_cancel_newest(venue):
    venue.sell("other", 3, 100, account=8)
    venue.sell("own", 5, 100, account=7)
    events = venue.buy("b", 8, 100, account=7)
    assert fills(events) == [("b", "other", 100, 3)]
    assert of(events, "canceled")[0]["canceled_qty"] == 5


def test_cancel_oldest_cancels_the_resting_order_and_goes_on_matching(venue):
    _book(venue)
    events = venue.buy("b", 8, 100, account=7, stp_mode="cancel_oldest")
    assert [(e["order_id"], e["reason"]) for e in of(events, "canceled")] == [("own", "self_trade")]
    assert fills(events) == [("b", "other", 100, 5)]
    assert venue.depth()["buy"] == [(100, 3, 1)]


def test_cancel_both_cancels_both_orders(venue):
    _book(venue)
    events = venue.buy("b", 8, 100, account=7, stp_mode="cancel_both")
    assert [e["order_id"] for e in of(events, "canceled")] == ["own", "b"]
    assert fills(events) == []
    assert venue.depth()["sell"] == [(100, 5, 1)]


def test_decrement_reduces_both_by_the_smaller_quantity_without_a_trade(venue):
    _book(venue)
    events = venue.buy("b", 8, 100, account=7, stp_mode="decrement")
    cancels = [(e["order_id"], e["canceled_qty"], e["leaves_qty"]) for e in of(events, "canceled")]
    assert cancels == [("own", 5, 0), ("b", 5, 3)]
    assert fills(events) == [("b", "other", 100, 3)]
    assert venue.depth()["sell"] == [(100, 2, 1)]


def test_decrement_leaves_the_larger_resting_order_live_and_smaller(venue):
    venue.sell("own", 10, 100, account=7)
    events = venue.buy("b", 4, 100, account=7, stp_mode="decrement")
    cancels = [(e["order_id"], e["canceled_qty"], e["leaves_qty"]) for e in of(events, "canceled")]
    assert cancels == [("own", 4, 6), ("b", 4, 0)]
    assert venue.depth()["sell"] == [(100, 6, 1)]


def test_orders_without_an_account_never_self_trade(venue):
    venue.sell("s", 5, 100)
    assert fills(venue.buy("b", 5, 100)) == [("b", "s", 100, 5)]


def test_self_trade_prevention_can_be_off_for_an_instrument():
    venue = Venue(self_trade_prevention=False)
    venue.sell("s", 5, 100, account=7)
    assert fills(venue.buy("b", 5, 100, account=7)) == [("b", "s", 100, 5)]


def test_fok_that_would_meet_its_own_order_is_canceled_unfilled(venue):
    _book(venue)
    events = venue.buy("b", 8, 100, account=7, tif="fok")
    assert fills(events) == []
    assert of(events, "canceled")[0]["reason"] == "fok_unfilled"


def test_pro_rata_level_with_an_own_order_applies_the_mode_first():
    venue = Venue(algorithm="pro_rata")
    _book(venue)
    events = venue.buy("b", 4, 100, account=7, stp_mode="cancel_oldest")
    assert of(events, "canceled")[0]["order_id"] == "own"
    assert fills(events) == [("b", "other", 100, 4)]
