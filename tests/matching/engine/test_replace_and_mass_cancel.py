"""Cancel/replace priority rules and mass cancel."""

from apps.matching.engine import MassCancel

from .conftest import SYMBOL, Venue, fills, kinds, of


def test_quantity_decrease_at_the_same_price_keeps_priority(venue):
    venue.sell("s1", 10, 100)
    venue.sell("s2", 10, 100)
    events = venue.replace("s1", 6)
    assert of(events, "replaced")[0]["priority_kept"] is True
    assert venue.depth()["sell"] == [(100, 16, 2)]
    assert fills(venue.buy("b1", 6, 100)) == [("b1", "s1", 100, 6)]


def test_quantity_increase_loses_priority(venue):
    venue.sell("s1", 10, 100)
    venue.sell("s2", 10, 100)
    events = venue.replace("s1", 12)
    assert of(events, "replaced")[0]["priority_kept"] is False
    assert fills(venue.buy("b1", 10, 100)) == [("b1", "s2", 100, 10)]


def test_price_change_loses_priority_and_can_trade_at_the_new_price(venue):
    venue.buy("b1", 5, 99)
    venue.sell("s1", 5, 101)
    events = venue.replace("s1", 5, price=99)
    assert kinds(events)[:3] == ["book", "replaced", "trade"]
    assert fills(events) == [("s1", "b1", 99, 5)]


def test_replace_counts_the_new_quantity_as_a_total_including_fills(venue):
    venue.sell("s1", 10, 100)
    venue.buy("b1", 4, 100)
    events = venue.replace("s1", 8)
    replaced = of(events, "replaced")[0]
    assert (replaced["qty"], replaced["leaves_qty"], replaced["priority_kept"]) == (8, 4, True)
    assert venue.depth()["sell"] == [(100, 4, 1)]


def test_replacing_to_at_or_below_the_filled_quantity_cancels_the_rest(venue):
    venue.sell("s1", 10, 100)
    venue.buy("b1", 4, 100)
    events = venue.replace("s1", 4)
    cancel = of(events, "canceled")[0]
    assert (cancel["reason"], cancel["canceled_qty"]) == ("replace_too_small", 6)
    assert venue.depth()["sell"] == []


def test_replace_with_a_new_order_id_moves_the_order_to_it(venue):
    venue.sell("s1", 10, 100)
    events = venue.replace("s1", 8, new_order_id="s1b")
    replaced = of(events, "replaced")[0]
    assert (replaced["order_id"], replaced["new_order_id"]) == ("s1", "s1b")
    assert venue.cancel("s1")[0]["reason"] == "unknown_order"
    assert fills(venue.buy("b1", 1, 100)) == [("b1", "s1b", 100, 1)]


def test_resent_replace_is_dropped_and_a_clashing_new_id_rejected(venue):
    venue.sell("s1", 10, 100)
    venue.sell("s2", 10, 101)
    venue.replace("s1", 8, new_order_id="s1b")
    assert venue.replace("s1", 8, new_order_id="s1b") == []
    assert venue.replace("s2", 8, new_order_id="s1b")[0]["reason"] == "duplicate_order_id"


def test_replace_of_an_unknown_order_is_rejected(venue):
    events = venue.replace("nope", 5, price=100)
    assert (events[0]["kind"], events[0]["reason"], events[0]["request"]) == (
        "rejected",
        "unknown_order",
        "replace",
    )


def test_post_only_replaced_to_a_crossing_price_is_rejected_and_keeps_the_order(venue):
    venue.sell("s1", 5, 101)
    venue.buy("po", 5, 100, post_only=True)
    assert venue.replace("po", 5, price=101)[0]["reason"] == "post_only_would_take"
    assert venue.depth()["buy"] == [(100, 5, 1)]


def test_replace_outside_the_band_is_rejected():
    venue = Venue(band_low=90, band_high=110)
    venue.buy("b1", 5, 100)
    assert venue.replace("b1", 5, price=120)[0]["reason"] == "price_outside_band"


def test_replace_of_a_pending_stop_can_move_its_stop_price(venue):
    venue.buy("st", 5, order_type="stop", stop_price=105)
    venue.replace("st", 5, stop_price=101)
    venue.sell("s1", 1, 101)
    venue.sell("s2", 5, 102)
    events = venue.buy("b1", 1, 101)
    assert of(events, "triggered")[0]["order_id"] == "st"


def test_mass_cancel_by_account_cancels_only_that_accounts_orders(venue):
    venue.buy("a1", 5, 100, account=1)
    venue.sell("a2", 5, 105, account=1)
    venue.buy("b1", 5, 99, account=2)
    venue.buy("a3", 5, order_type="stop", stop_price=110, account=1)
    events = venue.send(MassCancel(ts_ns=venue.tick(), account=1))
    assert [(e["order_id"], e["reason"]) for e in of(events, "canceled")] == [
        ("a1", "mass_cancel"),
        ("a2", "mass_cancel"),
        ("a3", "mass_cancel"),
    ]
    assert venue.depth() == {"buy": [(99, 5, 1)], "sell": []}


def test_mass_cancel_by_symbol_cancels_everything_in_it(venue):
    venue.buy("a1", 5, 100, account=1)
    venue.buy("b1", 5, 99, account=2)
    events = venue.send(MassCancel(ts_ns=venue.tick(), symbol=SYMBOL))
    assert len(of(events, "canceled")) == 2
    assert venue.depth() == {"buy": [], "sell": []}
