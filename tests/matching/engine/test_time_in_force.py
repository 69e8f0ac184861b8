"""Time in force: day, gtc, gtd, ioc, fok, opg, cls."""

from apps.matching.engine import ExpireOrders

from .conftest import Venue, fills, kinds, of


def test_ioc_limit_order_trades_what_it_can_and_cancels_the_rest(venue):
    venue.sell("s1", 3, 100)
    events = venue.buy("b1", 10, 101, tif="ioc")
    assert fills(events) == [("b1", "s1", 100, 3)]
    cancel = of(events, "canceled")[0]
    assert (cancel["reason"], cancel["canceled_qty"]) == ("ioc_remainder", 7)
    assert venue.depth()["buy"] == []


def test_fok_order_that_cannot_fill_completely_is_canceled_without_trades(venue):
    venue.sell("s1", 3, 100)
    venue.sell("s2", 3, 102)
    events = venue.buy("b1", 5, 101, tif="fok")
    assert kinds(events) == ["accepted", "canceled"]
    assert (events[1]["reason"], events[1]["canceled_qty"]) == ("fok_unfilled", 5)
    assert venue.depth()["sell"] == [(100, 3, 1), (102, 3, 1)]


def test_fok_order_that_can_fill_completely_fills(venue):
    venue.sell("s1", 3, 100)
    venue.sell("s2", 3, 101, hidden=True)
    events = venue.buy("b1", 5, 101, tif="fok")
    assert fills(events) == [("b1", "s1", 100, 3), ("b1", "s2", 101, 2)]
    assert not of(events, "canceled")


def test_day_orders_expire_at_the_close_and_gtc_orders_stay(venue):
    venue.buy("day", 5, 100, tif="day")
    venue.buy("gtc", 5, 99, tif="gtc")
    venue.sell("stop", 5, order_type="stop", stop_price=90, tif="day")
    events = venue.session("closed")
    expired = {(e["order_id"], e["reason"], e["expired_qty"]) for e in of(events, "expired")}
    assert expired == {("day", "day", 5), ("stop", "day", 5)}
    assert venue.depth()["buy"] == [(99, 5, 1)]


def test_gtd_order_expires_on_the_first_expire_command_at_or_after_its_time(venue):
    venue.buy("g1", 5, 100, tif="gtd", expire_ns=50_000)
    venue.buy("g2", 5, 99, tif="gtd", expire_ns=90_000)
    assert venue.send(ExpireOrders(ts_ns=49_999)) == []
    events = venue.send(ExpireOrders(ts_ns=50_000))
    assert [(e["order_id"], e["reason"]) for e in of(events, "expired")] == [("g1", "gtd")]
    assert venue.depth()["buy"] == [(99, 5, 1)]


def test_gtd_without_a_future_expire_time_is_rejected(venue):
    assert venue.buy("g", 5, 100, tif="gtd")[0]["reason"] == "invalid_expire_time"
    assert venue.buy("h", 5, 100, tif="gtd", expire_ns=1)[0]["reason"] == "invalid_expire_time"


def test_filled_gtd_order_is_not_expired_again(venue):
    venue.buy("g1", 5, 100, tif="gtd", expire_ns=50_000)
    venue.sell("s1", 5, 100)
    assert venue.send(ExpireOrders(ts_ns=60_000)) == []


def test_opg_order_is_rejected_in_continuous_trading(venue):
    events = venue.buy("o", 5, 100, tif="opg")
    assert (events[0]["kind"], events[0]["reason"]) == ("rejected", "tif_not_allowed_in_session")


def test_opg_order_joins_the_opening_auction_and_its_rest_expires_after_the_open():
    venue = Venue(session="pre_open")
    venue.buy("o1", 10, 100, tif="opg")
    venue.sell("s1", 4, 100)
    venue.session("opening_auction")
    events = venue.session("continuous")
    assert fills(events) == [("o1", "s1", 100, 4)]
    assert [(e["order_id"], e["reason"], e["expired_qty"]) for e in of(events, "expired")] == [
        ("o1", "opg", 6)
    ]
    assert venue.buy("late", 1, 100, tif="opg")[0]["reason"] == "tif_not_allowed_in_session"


def test_cls_order_is_held_until_the_closing_auction_and_its_rest_expires_at_close(venue):
    venue.buy("c1", 10, 100, tif="cls")
    assert venue.depth()["buy"] == []
    assert not fills(venue.sell("s1", 4, 100))  # the held cls order does not trade yet
    venue.session("pre_close")
    events = venue.session("closing_auction")
    assert venue.depth()["buy"] == [(100, 10, 1)]
    assert of(events, "indicative")[0]["matched_qty"] == 4
    events = venue.session("closed")
    assert fills(events) == [("c1", "s1", 100, 4)]
    assert ("c1", "cls", 6) in [
        (e["order_id"], e["reason"], e["expired_qty"]) for e in of(events, "expired")
    ]


def test_cls_order_is_rejected_outside_continuous_and_closing_auction():
    venue = Venue(session="pre_open")
    assert venue.buy("c", 1, 100, tif="cls")[0]["reason"] == "tif_not_allowed_in_session"


def test_closed_session_rejects_new_orders_but_accepts_cancels(venue):
    venue.buy("gtc", 5, 100, tif="gtc")
    venue.session("closed")
    assert venue.buy("b", 5, 100)[0]["reason"] == "session_closed"
    assert venue.cancel("gtc")[0]["kind"] == "canceled"


def test_market_ioc_and_fok_are_refused_during_a_call():
    venue = Venue(session="pre_open")
    assert venue.buy("m", 1, order_type="market")[0]["reason"] == (
        "order_type_not_allowed_in_session"
    )
    assert venue.buy("i", 1, 100, tif="ioc")[0]["reason"] == "tif_not_allowed_in_session"
    assert venue.buy("f", 1, 100, tif="fok")[0]["reason"] == "tif_not_allowed_in_session"


def test_held_cls_order_keeps_its_arrival_priority_in_the_closing_auction(venue):
    venue.buy("c1", 5, 100, tif="cls")
    venue.buy("d1", 5, 100)
    venue.session("closing_auction")
    venue.sell("s1", 5, 100)
    assert fills(venue.session("closed")) == [("c1", "s1", 100, 5)]
