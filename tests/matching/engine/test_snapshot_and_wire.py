"""Snapshots, rebuild from the database, and the wire format."""

import json

import msgpack
import pytest

from apps.matching.engine import (
    NewOrder,
    Trade,
    command_from_wire,
    event_from_wire,
    from_wire,
    to_wire,
)
from apps.matching.engine.wire import WireError

from .conftest import SYMBOL, Venue, core, fills, kinds


def _busy_book(venue: Venue) -> None:
    venue.buy("b1", 10, 100, account=1)
    venue.buy("b2", 10, 100, account=2, display_qty=3)
    venue.buy("b3", 10, 99, account=3, hidden=True)
    venue.sell("s1", 10, 103, account=4, tif="gtd", expire_ns=10**9)
    venue.sell("st", 5, order_type="stop", stop_price=95, account=5)
    venue.buy("c1", 5, 101, tif="cls", account=6)


def test_snapshot_is_plain_json_and_restore_replays_to_identical_events():
    original = Venue()
    _busy_book(original)
    snap = json.loads(json.dumps(original.engine.snapshot()))
    restored = Venue(engine=core().Engine.restore(snap))
    restored.ts = original.ts
    original.log.clear()
    for v in (original, restored):
        v.sell("x1", 12, 100, account=9)
        v.buy("x2", 3, 103)
        v.cancel("b3")
        v.replace("b1", 20)
        v.sell("x3", 30, 94)
        v.session("closing_auction")
        v.session("closed")
    assert restored.log == original.log


def test_restore_keeps_seen_ids_so_resent_orders_stay_dropped():
    venue = Venue()
    venue.buy("b1", 10, 100)
    restored = Venue(engine=core().Engine.restore(venue.engine.snapshot()))
    assert restored.buy("b1", 10, 100) == []


def test_load_resting_rebuilds_the_book_in_priority_order_without_events_or_seq():
    engine = core().Engine(seq=500)
    engine.register(core().InstrumentSpec(SYMBOL))
    for oid, qty in (("s1", 4), ("s2", 6)):
        engine.load_resting(
            NewOrder(ts_ns=0, symbol=SYMBOL, order_id=oid, side="sell", qty=10, price=100),
            leaves_qty=qty,
        )
    assert engine.seq == 500
    venue = Venue(engine=engine)
    assert venue.buy("s1", 1, 100) == []  # loaded ids are seen
    events = venue.buy("b1", 7, 100)
    assert events[0]["seq"] == 501
    assert fills(events) == [("b1", "s1", 100, 4), ("b1", "s2", 100, 3)]


def test_commands_and_events_survive_a_msgpack_round_trip():
    venue = Venue()
    venue.sell("s1", 5, 100, account="acct-1")
    cmd = NewOrder(ts_ns=7, symbol=SYMBOL, order_id="uuid-1", side="buy", qty=5, price=100)
    wire = msgpack.packb(to_wire(cmd))
    assert command_from_wire(msgpack.unpackb(wire)) == cmd
    events = venue.engine.process(command_from_wire(msgpack.unpackb(wire)))
    trade = next(e for e in events if e[0] == "trade")
    back = event_from_wire(msgpack.unpackb(msgpack.packb(to_wire(trade))))
    assert isinstance(back, Trade)
    assert back == trade
    assert (back.maker_order_id, back.maker_account, back.qty) == ("s1", "acct-1", 5)


def test_from_wire_refuses_unknown_kinds_and_wrong_lengths():
    with pytest.raises(WireError):
        from_wire(["nonsense", 1])
    with pytest.raises(WireError):
        from_wire(["cancel", 1, SYMBOL])
    with pytest.raises(WireError):
        command_from_wire(["trade", *range(12)])


# --- the seen ids stay bounded: live orders plus a window of recent ids --------------------


def small_window_venue(window: int) -> Venue:
    engine = core().Engine(seen_window=window)
    engine.register(core().InstrumentSpec(SYMBOL))
    return Venue(engine=engine)


def test_resent_order_is_dropped_within_the_window_and_forgotten_after_it():
    venue = small_window_venue(3)
    venue.buy("o1", 5, 100)
    venue.cancel("o1")  # o1 is no longer live
    for oid in ("n1", "n2", "n3"):
        venue.buy(oid, 1, 90 + len(oid))
    assert venue.buy("o1", 5, 100) == []  # 3 ids later: still remembered
    for oid in ("n4", "n5"):
        venue.buy(oid, 1, 90)
    # o1 was seen more than one window of ids ago and is not live: a new order again.
    assert kinds(venue.buy("o1", 5, 100))[0] == "accepted"


def test_live_order_id_is_recognized_however_many_ids_came_after_it():
    venue = small_window_venue(2)
    venue.buy("live", 5, 100)
    for i in range(10):
        venue.sell(f"x{i}", 1, 110 + i)
    assert venue.buy("live", 5, 100) == []
    assert venue.depth()["buy"] == [(100, 5, 1)]
    assert venue.replace("x9", 1, new_order_id="live")[0]["reason"] == "duplicate_order_id"


def test_seen_ids_in_a_snapshot_are_bounded_by_live_orders_and_two_windows():
    venue = small_window_venue(4)
    for i in range(50):
        venue.buy(f"b{i}", 1, 100)
        venue.cancel(f"b{i}")
    venue.buy("live", 1, 99)
    snap = venue.engine.snapshot()
    assert len(snap["seen"]) + len(snap["seen_prev"]) <= 2 * 4 + 1
    assert snap["seen_window"] == 4


def test_restored_engine_forgets_exactly_what_the_original_forgets():
    original = small_window_venue(3)
    for oid in ("a", "b", "c", "d"):
        original.buy(oid, 1, 100)
    original.cancel("a")
    restored = Venue(
        engine=core().Engine.restore(json.loads(json.dumps(original.engine.snapshot())))
    )
    restored.ts = original.ts
    original.log.clear()
    for v in (original, restored):
        for oid in ("a", "e", "b", "f", "g", "a", "h", "c", "a"):
            v.buy(oid, 1, 101)
    assert restored.log == original.log


def test_snapshot_without_generations_restores_every_id_as_seen():
    venue = Venue()
    venue.buy("b1", 10, 100)
    snap = venue.engine.snapshot()
    for key in ("seen_prev", "seen_base", "seen_window"):
        del snap[key]  # the layout written before the seen ids had generations
    restored = Venue(engine=core().Engine.restore(snap))
    assert restored.buy("b1", 10, 100) == []
