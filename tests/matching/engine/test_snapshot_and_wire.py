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

from .conftest import SYMBOL, Venue, core, fills


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
