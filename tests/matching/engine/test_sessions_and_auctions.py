"""Sessions, call auctions, LULD-style halts and reopening."""

from apps.matching.engine import Halt, Resume

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
