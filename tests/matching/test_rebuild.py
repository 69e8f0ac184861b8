import datetime as dt
from decimal import Decimal

import pytest

from apps.instruments.models import TradingSession
from apps.matching.engine import InstrumentSpec, NewOrder
from apps.matching.matcher import Matcher, MatcherOptions
from apps.matching.rebuild import (
    RebuildState,
    database_identity,
    load_rebuild_state,
    rebuild_engine,
    session_by_calendar,
)
from apps.matching.transport import redis_client, shard_key
from apps.orders.choices import OrderStatus, Side
from apps.orders.models import ShardProgress
from tests.instruments.factories import CryptoFactory, EquityFactory, VenueFactory
from tests.orders.factories import ExecutionFactory, OrderFactory


def sell(oid: str, qty: int, price: int = 100) -> NewOrder:
    return NewOrder(
        ts_ns=1, symbol="RB", order_id=oid, side="sell", qty=qty, price=price, tif="gtc"
    )


def test_rebuilt_engine_keeps_priority_continues_the_sequence_and_drops_resends():
    state = RebuildState(
        specs=[InstrumentSpec("RB", self_trade_prevention=False)],
        resting=[(sell("a", 10), 6), (sell("b", 10), 10), (sell("gone", 5), 0)],
        last_seq=100,
    )
    engine = rebuild_engine(0, state)
    assert engine.seq == 100
    assert engine.depth("RB")["sell"] == [(100, 16, 2)]
    assert engine.process(sell("a", 10)) == []  # a re-sent order it already holds: dropped
    events = engine.process(
        NewOrder(ts_ns=2, symbol="RB", order_id="t", side="buy", qty=8, price=100)
    )
    trades = [e for e in events if e[0] == "trade"]
    assert [(t[10], t[5]) for t in trades] == [("a", 6), ("b", 2)]
    assert events[0][1] == 101


@pytest.mark.django_db
def test_load_rebuild_state_reads_resting_pending_and_the_last_seq():
    instrument = EquityFactory(symbol="RBL", shard=1)
    other_shard = EquityFactory(symbol="RBX", shard=0)
    late = OrderFactory(instrument=instrument, side=Side.SELL, limit_price=Decimal(100),
                        status=OrderStatus.NEW, engine_sequence=30)  # fmt: skip
    early = OrderFactory(instrument=instrument, side=Side.SELL, limit_price=Decimal(100),
                         quantity=Decimal(10), filled_quantity=Decimal(3),
                         status=OrderStatus.PARTIALLY_FILLED, engine_sequence=20)  # fmt: skip
    unsequenced = OrderFactory(instrument=instrument, status=OrderStatus.NEW)
    pending = OrderFactory(instrument=instrument, status=OrderStatus.PENDING_NEW)
    canceling = OrderFactory(instrument=instrument, status=OrderStatus.PENDING_CANCEL,
                             engine_sequence=25)  # fmt: skip
    replacing = OrderFactory(instrument=instrument, status=OrderStatus.PENDING_REPLACE,
                             engine_sequence=26)  # fmt: skip
    replacement = OrderFactory(instrument=instrument, status=OrderStatus.PENDING_NEW,
                               replaces=replacing, quantity=Decimal(150),
                               limit_price=Decimal("99.60"))  # fmt: skip
    OrderFactory(instrument=instrument, status=OrderStatus.HELD)
    OrderFactory(instrument=instrument, status=OrderStatus.FILLED, engine_sequence=35)
    OrderFactory(instrument=other_shard, status=OrderStatus.NEW, engine_sequence=5)
    ExecutionFactory(order__instrument=instrument, shard=1, engine_sequence=77)
    ShardProgress.objects.create(shard=1, last_seq=60)

    state = load_rebuild_state(1, session_for=lambda i: "continuous", ts_ns=9)

    assert [s.symbol for s in state.specs] == ["RBL"]
    assert state.specs[0].session == "continuous"
    assert state.last_seq == 77
    ids = [(cmd.order_id, leaves) for cmd, leaves in state.resting]
    assert ids == [
        (str(early.id), 7),
        (str(canceling.id), 100),
        (str(replacing.id), 100),
        (str(late.id), 100),
        (str(unsequenced.id), 100),
    ]
    resend = {(c[0], c[3]) for c in state.resend}
    assert resend == {
        ("new", str(pending.id)),
        ("cancel", str(canceling.id)),
        ("replace", str(replacing.id)),
    }
    [replace] = [c for c in state.resend if c[0] == "replace"]
    assert (replace.new_order_id, replace.qty, replace.price) == (str(replacement.id), 150, 9960)


@pytest.mark.django_db
def test_a_snapshot_built_from_another_database_is_not_restored(stream_prefix):
    EquityFactory(symbol="RBD", shard=0)
    r = redis_client()
    first = Matcher(MatcherOptions(shard=0, session="continuous"))
    first._ensure_group()
    first._load_state()
    assert "RBD" in first.engine.books
    assert r.hget(shard_key(0, "snapshot"), "db") == database_identity().encode()
    assert Matcher(MatcherOptions(shard=0))._restore_snapshot() is True

    # The database was dropped and created again (make demo-reset): same name, new oid.
    r.hset(shard_key(0, "snapshot"), "db", "test_brokerage:1")
    assert Matcher(MatcherOptions(shard=0))._restore_snapshot() is False


@pytest.mark.django_db
def test_rebuilt_books_start_in_the_venue_phase_now_unless_overridden():
    venue = VenueFactory(mic="XCAL", timezone="America/New_York")
    TradingSession.objects.create(
        venue=venue, phase="continuous", starts_at=dt.time(9, 30), ends_at=dt.time(16)
    )
    equity = EquityFactory(symbol="CAL1", venue=venue)
    crypto = CryptoFactory(venue=VenueFactory(mic="CRYZ", timezone="UTC", is_24x7=True))
    monday_10am_ny = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    saturday = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)

    assert session_by_calendar(monday_10am_ny)(equity) == "continuous"
    assert session_by_calendar(saturday)(equity) == "closed"
    assert session_by_calendar(saturday)(crypto) == "continuous"
    assert session_by_calendar(saturday, "pre_open")(equity) == "pre_open"


def test_a_rebuilt_engine_takes_the_seen_window_from_the_settings(settings):
    settings.ENGINE_SEEN_WINDOW = 5

    assert rebuild_engine(0, RebuildState(specs=[])).seen_window == 5


@pytest.mark.django_db
def test_orders_whose_session_passed_while_the_engine_was_gone_are_canceled_on_rebuild():
    instrument = EquityFactory(symbol="RBS", shard=2)
    on_open = OrderFactory(instrument=instrument, time_in_force="opg", engine_sequence=1)
    day = OrderFactory(instrument=instrument, time_in_force="day", engine_sequence=2)
    gtc = OrderFactory(instrument=instrument, time_in_force="gtc", engine_sequence=3)

    opened = load_rebuild_state(2, session_for=lambda i: "continuous", ts_ns=9)
    closed = load_rebuild_state(2, session_for=lambda i: "closed", ts_ns=9)

    assert [(c[0], c[3]) for c in opened.resend] == [("cancel", str(on_open.id))]
    assert {(c[0], c[3]) for c in closed.resend} == {
        ("cancel", str(on_open.id)),
        ("cancel", str(day.id)),
    }
    assert str(gtc.id) in {cmd.order_id for cmd, _ in closed.resting}
