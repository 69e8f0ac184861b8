"""Sessions, call auctions, LULD-style halts and reopening."""

from apps.matching.engine import Halt, Resume
from apps.matching.engine import describe as describe_event

from .conftest import SYMBOL, Venue, core, fills, kinds, of


def test_orders_rest_without_matching_during_pre_open():
    venue = Venue(session="pre_open")
    venue.buy("b1", 5, 101)
    events = venue.sell("s1", 5, 100)
    assert fills(events) == []
    assert "indicative" not in kinds(events)


def test_indicative_price_and_imbalance_are_published_after_each_order_in_the_call():
    venue = Venue(session="opening_auction")
    events = venue.buy("b1", 10, 101)
    ind = of(events, "indicative")[0]
    assert (ind["price"], ind["matched_qty"]) == (None, 0)
    events = venue.sell("s1", 4, 100)
    ind = of(events, "indicative")[0]
    assert (ind["matched_qty"], ind["imbalance_qty"], ind["imbalance_side"]) == (4, 6, "buy")


def test_opening_auction_uncrosses_at_the_price_maximizing_executed_volume():
    venue = Venue(session="opening_auction")
    venue.buy("b1", 10, 102)
    venue.buy("b2", 10, 100)
    venue.sell("s1", 15, 99)
    venue.sell("s2", 10, 101)
    events = venue.session("continuous")
    # at 100: buys 20, sells 15 -> 15; at 101: buys 10, sells 25 -> 10; at 99: 20 vs 15 -> 15
    # 99 and 100 both execute 15 with imbalance 5: no reference, so the lower price
    auction = of(events, "auction")[0]
    assert (auction["price"], auction["matched_qty"]) == (99, 15)
    assert fills(events) == [("b1", "s1", 99, 10), ("b2", "s1", 99, 5)]
    assert all(t["aggressor_side"] is None for t in of(events, "trade"))
    assert kinds(events).index("auction") < kinds(events).index("session")


def test_auction_price_tie_breaks_on_the_reference_price():
    venue = Venue(session="opening_auction", reference_price=100)
    venue.buy("b1", 10, 102)
    venue.buy("b2", 10, 100)
    venue.sell("s1", 15, 99)
    venue.sell("s2", 10, 101)
    auction = of(venue.session("continuous"), "auction")[0]
    assert auction["price"] == 100


def test_auction_price_prefers_the_smaller_imbalance():
    venue = Venue(session="opening_auction")
    venue.buy("b1", 10, 101)
    venue.sell("s1", 10, 100)
    venue.sell("s2", 5, 101)
    # at 100: 10 vs 10 -> 10, imbalance 0; at 101: 10 vs 15 -> 10, imbalance 5
    assert of(venue.session("continuous"), "auction")[0]["price"] == 100


def test_book_is_not_crossed_after_the_uncross():
    venue = Venue(session="pre_open")
    for i, (side, qty, price) in enumerate(
        [("buy", 7, 103), ("buy", 5, 101), ("sell", 4, 100), ("sell", 9, 102), ("sell", 3, 104)]
    ):
        venue.order(f"o{i}", side, qty, price)
    venue.session("continuous")
    depth = venue.depth()
    assert depth["buy"][0][0] < depth["sell"][0][0]


def test_auction_without_a_cross_trades_nothing():
    venue = Venue(session="opening_auction")
    venue.buy("b1", 10, 99)
    venue.sell("s1", 10, 100)
    events = venue.session("continuous")
    auction = of(events, "auction")[0]
    assert (auction["price"], auction["matched_qty"]) == (None, 0)
    assert fills(events) == []


def test_session_change_event_names_the_new_state(venue):
    events = venue.session("pre_close")
    assert [(e["state"], e["reason"]) for e in of(events, "session")] == [("pre_close", "schedule")]


def test_trade_beyond_the_dynamic_band_halts_the_symbol_instead_of_printing():
    venue = Venue(reference_price=100, dynamic_band_pct=5)
    venue.sell("s1", 5, 104)
    venue.sell("s2", 5, 106)
    events = venue.buy("b1", 10, 110)
    assert fills(events) == [("b1", "s1", 104, 5)]
    halt = of(events, "session")[0]
    assert (halt["state"], halt["reason"]) == ("halted", "luld")
    assert venue.depth()["buy"] == [(110, 5, 1)]  # a limit remainder rests during the halt
    assert fills(venue.buy("b2", 1, 110)) == []


def test_market_remainder_is_canceled_when_the_band_halts_the_symbol():
    venue = Venue(reference_price=100, dynamic_band_pct=5)
    venue.sell("s1", 5, 104)
    venue.sell("s2", 5, 106)
    events = venue.buy("m1", 10, order_type="market")
    assert fills(events) == [("m1", "s1", 104, 5)]
    assert (of(events, "canceled")[0]["reason"], of(events, "canceled")[0]["canceled_qty"]) == (
        "halt",
        5,
    )


def test_the_dynamic_band_follows_the_last_trade_price():
    venue = Venue(reference_price=100, dynamic_band_pct=5)
    venue.sell("s1", 1, 104)
    venue.buy("b1", 1, 104)  # last 104: band now 99..109
    venue.sell("s2", 1, 108)
    assert fills(venue.buy("b2", 1, 108)) == [("b2", "s2", 108, 1)]


def test_resume_opens_a_reopening_call_that_uncrosses_on_continuous():
    venue = Venue(reference_price=100, dynamic_band_pct=5)
    venue.sell("s1", 5, 104)
    venue.sell("s2", 5, 106)
    venue.buy("b1", 10, 110)
    events = venue.send(Resume(ts_ns=venue.tick(), symbol=SYMBOL))
    assert [(e["state"], e["reason"]) for e in of(events, "session")] == [
        ("opening_auction", "resume")
    ]
    assert of(events, "indicative")[0]["matched_qty"] == 5
    events = venue.session("continuous")
    auction = of(events, "auction")[0]
    assert (auction["price"], auction["matched_qty"]) == (106, 5)
    assert fills(events) == [("b1", "s2", 106, 5)]


def test_halt_command_stops_matching_and_cancels_still_work(venue):
    venue.sell("s1", 5, 100)
    events = venue.send(Halt(ts_ns=venue.tick(), symbol=SYMBOL, reason="regulatory"))
    assert [(e["state"], e["reason"]) for e in of(events, "session")] == [("halted", "regulatory")]
    assert fills(venue.buy("b1", 5, 100)) == []
    assert venue.cancel("s1")[0]["kind"] == "canceled"


def test_closing_auction_then_close_expires_day_orders(venue):
    venue.buy("b1", 10, 100)
    venue.buy("gtc", 10, 90, tif="gtc")
    venue.session("closing_auction")
    venue.sell("s1", 4, 100)
    events = venue.session("closed")
    assert fills(events) == [("b1", "s1", 100, 4)]
    assert [(e["order_id"], e["expired_qty"]) for e in of(events, "expired")] == [("b1", 6)]
    assert venue.depth()["buy"] == [(90, 10, 1)]


def test_set_session_for_all_symbols():
    from apps.matching.engine import SetSession

    engine = core().Engine()
    engine.register(core().InstrumentSpec("A"))
    engine.register(core().InstrumentSpec("B"))
    events = engine.process(SetSession(ts_ns=1, state="closed"))
    assert [e[3] for e in events if e[0] == "session"] == ["A", "B"]


# --- market-on-open / market-on-close: market orders with tif opg / cls in a call ----------


def moo(venue: Venue, oid: str, side: str, qty: int, **kw):
    return venue.order(oid, side, qty, order_type="market", tif="opg", **kw)


def moc(venue: Venue, oid: str, side: str, qty: int, **kw):
    return venue.order(oid, side, qty, order_type="market", tif="cls", **kw)


def test_market_on_open_order_waits_in_the_call_without_depth():
    venue = Venue(session="pre_open")
    events = moo(venue, "m1", "buy", 8)
    assert kinds(events) == ["accepted"]
    assert events[0]["price"] is None
    assert venue.depth() == {"buy": [], "sell": []}


def test_market_on_open_order_executes_before_limits_at_the_auction_price():
    venue = Venue(session="pre_open")
    venue.buy("b1", 5, 101)
    venue.sell("s1", 10, 101)
    moo(venue, "m1", "buy", 8)  # entered last, executes first
    events = venue.session("continuous")
    auction = of(events, "auction")[0]
    assert (auction["price"], auction["matched_qty"]) == (101, 10)
    assert fills(events) == [("m1", "s1", 101, 8), ("b1", "s1", 101, 2)]
    assert venue.depth()["buy"] == [(101, 3, 1)]


def test_market_on_open_remainder_is_canceled_after_the_uncross():
    venue = Venue(session="opening_auction")
    moo(venue, "m1", "buy", 10)
    venue.sell("s1", 4, 100)
    events = venue.session("continuous")
    assert fills(events) == [("m1", "s1", 100, 4)]
    cancel = of(events, "canceled")[0]
    assert (cancel["order_id"], cancel["reason"], cancel["canceled_qty"]) == (
        "m1", "market_remainder", 6,
    )  # fmt: skip
    assert kinds(events).index("auction") < kinds(events).index("canceled")
    assert kinds(events).index("canceled") < kinds(events).index("session")
    assert "m1" not in venue.engine.books[SYMBOL].orders


def test_indicative_price_counts_market_orders_at_every_price():
    venue = Venue(session="opening_auction")
    ind = of(moo(venue, "m1", "buy", 10), "indicative")[0]
    assert (ind["price"], ind["matched_qty"]) == (None, 0)  # nothing to sell against
    ind = of(venue.sell("s1", 4, 100), "indicative")[0]
    assert (ind["price"], ind["matched_qty"], ind["imbalance_qty"], ind["imbalance_side"]) == (
        100, 4, 6, "buy",
    )  # fmt: skip


def test_market_orders_alone_meet_at_the_reference_price():
    venue = Venue(session="opening_auction", reference_price=250)
    moo(venue, "mb", "buy", 5)
    moo(venue, "ms", "sell", 3)
    events = venue.session("continuous")
    auction = of(events, "auction")[0]
    assert (auction["price"], auction["matched_qty"], auction["imbalance_qty"]) == (250, 3, 2)
    assert fills(events) == [("mb", "ms", 250, 3)]
    assert [(e["order_id"], e["canceled_qty"]) for e in of(events, "canceled")] == [("mb", 2)]


def test_market_orders_alone_without_a_reference_price_do_not_trade():
    venue = Venue(session="opening_auction")
    moo(venue, "mb", "buy", 5)
    moo(venue, "ms", "sell", 3)
    events = venue.session("continuous")
    assert of(events, "auction")[0]["price"] is None
    assert fills(events) == []
    assert sorted(e["order_id"] for e in of(events, "canceled")) == ["mb", "ms"]


def test_market_orders_execute_in_time_priority_among_themselves():
    venue = Venue(session="pre_open")
    moo(venue, "m1", "sell", 3)
    moo(venue, "m2", "sell", 3)
    venue.buy("b1", 4, 100)
    events = venue.session("continuous")
    assert fills(events) == [("b1", "m1", 100, 3), ("b1", "m2", 100, 1)]


def test_market_on_open_is_refused_in_continuous_trading_and_after_the_open():
    venue = Venue(session="continuous")
    assert moo(venue, "m1", "buy", 1)[0]["reason"] == "tif_not_allowed_in_session"
    venue.send(Halt(ts_ns=venue.tick(), symbol=SYMBOL))
    venue.send(Resume(ts_ns=venue.tick(), symbol=SYMBOL))  # a reopening call, not the open
    assert moo(venue, "m2", "buy", 1)[0]["reason"] == "tif_not_allowed_in_session"


def test_plain_market_order_is_still_refused_during_a_call():
    venue = Venue(session="opening_auction")
    events = venue.buy("m", 1, order_type="market", tif="day")
    assert events[0]["reason"] == "order_type_not_allowed_in_session"


def test_market_on_open_can_be_canceled_and_leaves_the_indicative():
    venue = Venue(session="opening_auction")
    venue.sell("s1", 4, 100)
    moo(venue, "m1", "buy", 10)
    events = venue.cancel("m1")
    assert of(events, "canceled")[0]["canceled_qty"] == 10
    assert of(events, "indicative")[0]["matched_qty"] == 0
    assert fills(venue.session("continuous")) == []


def test_market_on_open_quantity_increase_loses_priority_and_decrease_keeps_it():
    venue = Venue(session="pre_open")
    moo(venue, "m1", "buy", 3)
    moo(venue, "m2", "buy", 3)
    assert of(venue.replace("m1", 5), "replaced")[0]["priority_kept"] is False
    assert of(venue.replace("m2", 2), "replaced")[0]["priority_kept"] is True
    venue.sell("s1", 7, 100)
    assert fills(venue.session("continuous")) == [("m2", "s1", 100, 2), ("m1", "s1", 100, 5)]


def test_unopened_market_on_open_orders_expire_at_the_close():
    venue = Venue(session="pre_open")
    moo(venue, "m1", "buy", 3)
    events = venue.session("closed")
    assert [(e["order_id"], e["reason"], e["expired_qty"]) for e in of(events, "expired")] == [
        ("m1", "opg", 3)
    ]


def test_market_on_close_is_held_through_the_day_and_executes_in_the_closing_auction():
    venue = Venue(session="continuous")
    venue.buy("b1", 4, 99)
    events = moc(venue, "c1", "sell", 6)
    assert kinds(events) == ["accepted"]  # held: it does not take the bid
    venue.session("pre_close")
    events = venue.session("closing_auction")
    assert of(events, "indicative")[0]["matched_qty"] == 4
    events = venue.session("closed")
    assert fills(events) == [("b1", "c1", 99, 4)]
    assert [(e["order_id"], e["reason"], e["canceled_qty"]) for e in of(events, "canceled")] == [
        ("c1", "market_remainder", 2)
    ]
    assert venue.engine.books[SYMBOL].orders == {}


def test_market_on_close_entered_during_the_closing_auction_joins_it():
    venue = Venue(session="closing_auction")
    venue.sell("s1", 5, 100)
    events = moc(venue, "c1", "buy", 5)
    assert of(events, "indicative")[0]["matched_qty"] == 5
    assert fills(venue.session("closed")) == [("c1", "s1", 100, 5)]


def test_market_on_close_is_refused_in_the_opening_call():
    venue = Venue(session="pre_open")
    assert moc(venue, "c1", "buy", 1)[0]["reason"] == "tif_not_allowed_in_session"


def test_stop_order_cannot_wait_for_the_close():
    venue = Venue(session="continuous")
    events = venue.buy("st", 1, order_type="stop", stop_price=105, tif="cls")
    assert events[0]["reason"] == "order_type_not_allowed_in_session"


def test_market_on_open_orders_survive_a_snapshot_and_restore():
    original = Venue(session="pre_open")
    moo(original, "m1", "buy", 6)
    moo(original, "m2", "sell", 2)
    original.buy("b1", 3, 100)
    restored = Venue(engine=core().Engine.restore(original.engine.snapshot()))
    restored.ts = original.ts
    original.log.clear()
    for v in (original, restored):
        v.sell("s1", 5, 100)
        v.session("continuous")
    assert restored.log == original.log
    assert fills([describe_event(e) for e in restored.log]) == [
        ("m1", "m2", 100, 2), ("m1", "s1", 100, 4), ("b1", "s1", 100, 1),
    ]  # fmt: skip


def test_a_call_closed_without_its_auction_is_uncrossed_when_trading_opens():
    venue = Venue(session="pre_open")
    venue.buy("b1", 3, 97, tif="gtc")
    venue.sell("s1", 2, 97, tif="gtc")
    venue.session("closed")  # the pre-open call ended without an opening auction
    events = venue.session("continuous")
    assert fills(events) == [("b1", "s1", 97, 2)]
    assert of(events, "auction")[0]["matched_qty"] == 2
    assert venue.depth() == {"buy": [(97, 1, 1)], "sell": []}


def test_opening_a_closed_book_that_does_not_cross_holds_no_auction():
    venue = Venue(session="pre_open")
    venue.buy("b1", 3, 96, tif="gtc")
    venue.sell("s1", 2, 97, tif="gtc")
    venue.session("closed")
    assert "auction" not in kinds(venue.session("continuous"))
