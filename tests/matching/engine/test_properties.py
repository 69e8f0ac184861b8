"""Property tests: random command streams against book and trade invariants.

After every command: a book in continuous trading is not crossed; no trade prints outside either
order's limit; every order's quantity is accounted for (the events replay to exactly the engine's
live orders and leaves); time priority holds within every level; the level aggregates match their
orders. Over the whole stream: the same stream gives the same events, and a snapshot taken at any
point, restored and fed the rest, gives the same events with the same sequence numbers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.matching.engine import (
    Cancel,
    ExpireOrders,
    Halt,
    MassCancel,
    NewOrder,
    Replace,
    Resume,
    SetSession,
)

from .conftest import IMPLEMENTATIONS, core

SYMBOLS = ("FIFO", "PRO")
STATES = ("pre_open", "opening_auction", "continuous", "pre_close", "closing_auction", "closed")

new_op = st.tuples(
    st.just("new"),
    st.sampled_from(SYMBOLS),
    st.sampled_from(("buy", "sell")),
    st.sampled_from(("limit",) * 8 + ("market", "stop", "stop_limit")),
    st.sampled_from(("day",) * 4 + ("gtc", "gtd", "ioc", "fok", "opg", "cls")),
    st.integers(1, 20),  # qty
    st.integers(97, 103),  # price
    st.sampled_from(("plain",) * 5 + ("iceberg", "hidden", "post_only")),
    st.sampled_from((None, 1, 2, 3)),  # account
    st.sampled_from(("cancel_newest", "cancel_oldest", "cancel_both", "decrement")),
    st.integers(0, 9),  # reuse an old id when 0
)
other_op = st.one_of(
    st.tuples(st.just("cancel"), st.integers(0, 1000)),
    st.tuples(st.just("replace"), st.integers(0, 1000), st.integers(1, 25), st.integers(96, 104)),
    st.tuples(
        st.just("session"),
        st.sampled_from(SYMBOLS),
        st.sampled_from(STATES + ("continuous",) * 4),
    ),
    st.tuples(st.just("expire")),
    st.tuples(st.just("mass"), st.sampled_from((None, 1, 2))),
    st.tuples(st.just("halt"), st.sampled_from(SYMBOLS)),
)
# Three new orders for every other command (one_of would weigh each alternative equally).
any_op = st.integers(0, 3).flatmap(lambda k: new_op if k else other_op)
ops_strategy = st.lists(any_op, min_size=20, max_size=100)


def to_commands(ops: list[tuple]) -> list[tuple]:
    """Turn drawn operations into engine commands with rising time and unique ids."""
    cmds: list[tuple] = []
    ids: list[tuple[str, int]] = []
    next_id = 1
    for i, o in enumerate(ops):
        ts = (i + 1) * 1_000
        kind = o[0]
        if kind == "new":
            _, sym, side, otype, tif, qty, price, variant, account, stp, reuse = o
            display = 3 if variant == "iceberg" else 0
            hidden = variant == "hidden"
            post_only = variant == "post_only"
            if reuse == 0 and ids:
                sym, oid = ids[(i * 7) % len(ids)]
            else:
                oid = next_id
                next_id += 1
                ids.append((sym, oid))
            limit = price if otype in ("limit", "stop_limit") else None
            if otype != "limit":  # flags only make sense on limits; keep rejects rare
                display, hidden, post_only = 0, False, False
            stop = price + (2 if side == "buy" else -2) if otype in ("stop", "stop_limit") else None
            cmds.append(
                NewOrder(ts_ns=ts, symbol=sym, order_id=oid, side=side, qty=qty, price=limit,
                         account=account, order_type=otype, tif=tif, stop_price=stop,
                         display_qty=display, hidden=hidden, post_only=post_only,
                         expire_ns=ts + 5_000 if tif == "gtd" else None, stp_mode=stp)
            )  # fmt: skip
        elif kind == "cancel" and ids:
            sym, oid = ids[o[1] % len(ids)]
            cmds.append(Cancel(ts_ns=ts, symbol=sym, order_id=oid))
        elif kind == "replace" and ids:
            sym, oid = ids[o[1] % len(ids)]
            cmds.append(Replace(ts_ns=ts, symbol=sym, order_id=oid, qty=o[2], price=o[3]))
        elif kind == "session":
            cmds.append(SetSession(ts_ns=ts, symbol=o[1], state=o[2]))
        elif kind == "expire":
            cmds.append(ExpireOrders(ts_ns=ts))
        elif kind == "mass":
            cmds.append(MassCancel(ts_ns=ts, account=o[1]))
        elif kind == "halt":
            cmds.append(Halt(ts_ns=ts, symbol=o[1]) if i % 2 else Resume(ts_ns=ts, symbol=o[1]))
    return cmds


def new_engine(seen_window: int | None = None) -> Any:
    engine = core().Engine() if seen_window is None else core().Engine(seen_window=seen_window)
    engine.register(core().InstrumentSpec("FIFO", reference_price=100, dynamic_band_pct=4))
    engine.register(core().InstrumentSpec("PRO", algorithm="pro_rata", band_low=94, band_high=106))
    return engine


class Ledger:
    """What the event stream says about every order; checked against the engine's books."""

    def __init__(self) -> None:
        self.leaves: dict[Any, int] = {}
        self.limit: dict[Any, int | None] = {}
        self.side: dict[Any, str] = {}
        self.priority: dict[Any, int] = {}

    def apply(self, ev: tuple) -> None:
        kind = ev[0]
        if kind == "accepted":
            _, seq, _, _, oid, _, side, price, qty = ev
            assert oid not in self.leaves
            self.leaves[oid] = qty
            self.limit[oid] = price
            self.side[oid] = side
            self.priority[oid] = seq
        elif kind == "trade":
            (_, _, _, _, price, qty, _, taker, _, taker_leaves, maker, _, maker_leaves) = ev
            assert qty > 0
            for oid, leaves in ((taker, taker_leaves), (maker, maker_leaves)):
                assert self.leaves[oid] - qty == leaves, "leaves must go down by the fill"
                self.leaves[oid] = leaves
                limit = self.limit[oid]
                if limit is not None:
                    if self.side[oid] == "buy":
                        assert price <= limit, "buy filled above its limit"
                    else:
                        assert price >= limit, "sell filled below its limit"
            assert self.side[taker] != self.side[maker]
        elif kind == "canceled":
            _, _, _, _, oid, _, _, canceled_qty, leaves_qty = ev
            assert canceled_qty > 0
            assert self.leaves[oid] - canceled_qty == leaves_qty
            self.leaves[oid] = leaves_qty
        elif kind == "expired":
            _, _, _, _, oid, _, _, expired_qty = ev
            assert self.leaves[oid] == expired_qty
            self.leaves[oid] = 0
        elif kind == "replaced":
            _, seq, _, _, oid, new_oid, _, price, _qty, leaves, kept = ev
            if new_oid != oid:
                for d in (self.leaves, self.limit, self.side, self.priority):
                    d[new_oid] = d.pop(oid)
            self.leaves[new_oid] = leaves
            self.limit[new_oid] = price if self.limit[new_oid] is not None else None
            if not kept:
                self.priority[new_oid] = seq
        elif kind == "triggered":
            self.priority[ev[4]] = ev[1]

    def check(self, engine: Any) -> None:
        live = {}
        for book in engine.books.values():
            check_book(book, self)
            live.update({oid: o.leaves for oid, o in book.orders.items()})
        expected = {oid: q for oid, q in self.leaves.items() if q}
        assert live == expected, "events and books disagree on what is live"


def check_book(book: Any, ledger: Ledger) -> None:
    for bs in (book.bids, book.asks):
        assert bs.keys == sorted(bs.keys)
        assert bs.keys == [lvl.price * bs.sign for lvl in bs.lvls], "keys and levels disagree"
        assert bs.levels == {lvl.price: lvl for lvl in bs.lvls}
        for lvl in bs.lvls:
            shown = lvl.displayed()
            hidden = lvl.hidden()
            assert shown or hidden, "empty levels are removed"
            assert lvl.count == len(shown) and lvl.hidden_count == len(hidden)
            assert lvl.qty == sum(o.shown if o.peak else o.leaves for o in shown)
            assert all(o.price == lvl.price and o.level is lvl for o in shown + hidden)
            for queue in (shown, hidden):
                prios = [ledger.priority[o.order_id] for o in queue if not o.peak]
                assert prios == sorted(prios), "time priority broken within a level"
    if book.session in ("continuous", "pre_close") and book.bids.keys and book.asks.keys:
        best_bid = book.bids.keys[-1]
        best_ask = -book.asks.keys[-1]
        assert best_bid < best_ask, "continuous book is crossed"


def run(cmds: list[tuple], engine: Any = None) -> list[list[tuple]]:
    engine = engine or new_engine()
    return [engine.process(c) for c in cmds]


# The autouse fixture that picks the implementation only sets a module global: safe to share.
QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=150, deadline=None, suppress_health_check=QUIET)
@given(ops_strategy)
def test_invariants_hold_after_every_command(ops):
    engine = new_engine()
    ledger = Ledger()
    seq = 0
    seen: set = set()
    for cmd in to_commands(ops):
        events = engine.process(cmd)
        if cmd[0] == "new" and cmd[3] in seen:
            assert events == [], "a re-sent order id must be dropped silently"
        if cmd[0] == "new":
            seen.add(cmd[3])
        for ev in events:
            seq += 1
            assert ev[1] == seq, "sequence numbers rise by one"
            assert ev[2] == cmd[1], "events carry the command's time"
            ledger.apply(ev)
        ledger.check(engine)


@settings(max_examples=60, deadline=None, suppress_health_check=QUIET)
@given(ops_strategy)
def test_the_same_stream_gives_the_same_events(ops):
    cmds = to_commands(ops)
    assert run(cmds) == run(cmds)


@settings(max_examples=100, deadline=None, suppress_health_check=QUIET)
@given(ops_strategy, st.integers(0, 70), st.sampled_from((None, 2, 5)))
def test_snapshot_restore_and_replay_gives_the_same_events_and_seqs(ops, cut, seen_window):
    """Also with a tiny window of remembered ids, so that generations turn over mid-stream."""
    cmds = to_commands(ops)
    cut = min(cut, len(cmds))
    engine = new_engine(seen_window)
    expected = run(cmds, engine=new_engine(seen_window))
    for cmd in cmds[:cut]:
        engine.process(cmd)
    snap = json.loads(json.dumps(engine.snapshot()))
    restored = core().Engine.restore(snap)
    assert run(cmds[cut:], engine=restored) == expected[cut:]
    assert restored.snapshot()["seq"] == new_engine_after(cmds, seen_window).seq


def new_engine_after(cmds: list[tuple], seen_window: int | None = None) -> Any:
    engine = new_engine(seen_window)
    for cmd in cmds:
        engine.process(cmd)
    return engine


@pytest.mark.skipif(len(IMPLEMENTATIONS) < 2, reason="the mypyc core is not built")
@settings(max_examples=60, deadline=None, suppress_health_check=QUIET)
@given(ops=ops_strategy)
def test_compiled_and_interpreted_cores_emit_the_same_events(ops, implementation):
    if implementation is not IMPLEMENTATIONS["pure"]:
        return  # one comparison per example is enough
    cmds = to_commands(ops)
    results = []
    for module in IMPLEMENTATIONS.values():
        engine = module.Engine()
        engine.register(module.InstrumentSpec("FIFO", reference_price=100, dynamic_band_pct=4))
        engine.register(
            module.InstrumentSpec("PRO", algorithm="pro_rata", band_low=94, band_high=106)
        )
        results.append([engine.process(c) for c in cmds])
    assert results[0] == results[1]
