"""Rebuild a shard's engine from PostgreSQL when Redis lost the snapshot and the streams.

DESIGN.md section 2: Postgres is the record, the books are a cache of it. The resting orders
go back into their books in engine priority order (``Order.engine_sequence``: the seq of the
event that gave the order its place, filled in by the applier), the sequence continues after
the highest seq the database has seen, and everything the engine has not confirmed yet
(``pending_new``, ``pending_cancel``, ``pending_replace``) is re-sent through the input stream.
The engine drops a re-sent order whose id it has seen, so re-sending is always safe.

Split in two so the rebuild itself is a pure function of plain data (:func:`rebuild_engine`,
tested without a database) and the queries are one function (:func:`load_rebuild_state`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Max

from apps.instruments.models import Instrument
from apps.matching.commands import (
    cancel_command,
    new_order_command,
    quantity_to_lots,
    replace_command,
)
from apps.matching.engine import Engine, InstrumentSpec, NewOrder
from apps.matching.scheduler import calendar_for, phase_at
from apps.matching.specs import instrument_spec
from apps.orders.choices import OrderStatus
from apps.orders.models import Execution, Order, ShardProgress

# Orders that sit in a book (or wait off-book as stops / at-the-close) inside the engine.
RESTING_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.PENDING_REPLACE,
)


# Times in force that can no longer trade in the session a rebuilt book starts in: the event
# that ends them (the close, the opening uncross) passed while the engine was gone.
_OVER_IN = {
    "closed": {"day", "opg", "cls"},
    "continuous": {"opg"},
    "pre_close": {"opg"},
    "closing_auction": {"opg"},
}


@dataclass
class RebuildState:
    """Everything a rebuild needs, as engine data: no ORM objects past this point."""

    specs: list[InstrumentSpec]
    # (new order command, leaves in lots), in engine priority order.
    resting: list[tuple[NewOrder, int]] = field(default_factory=list)
    # Commands to publish on the input stream once the rebuilt engine runs.
    resend: list[tuple] = field(default_factory=list)
    last_seq: int = 0


def rebuild_engine(shard: int, state: RebuildState) -> Engine:
    """An engine holding ``state``'s books, numbering events after ``state.last_seq``."""
    engine = Engine(shard=shard, seq=state.last_seq, seen_window=settings.ENGINE_SEEN_WINDOW)
    for spec in state.specs:
        engine.register(spec)
    for command, leaves in state.resting:
        if command.symbol in engine.books and leaves > 0:
            engine.load_resting(command, leaves_qty=leaves)
    return engine


def session_by_calendar(
    at: dt.datetime, override: str | None = None
) -> Callable[[Instrument], str]:
    """The state a rebuilt book starts in: ``override`` if given, else the venue's phase at
    ``at`` (24x7 venues: continuous). Calendars are read once per venue."""
    cache: dict[int, str] = {}

    def session_for(instrument: Instrument) -> str:
        if override:
            return override
        if instrument.venue_id not in cache:
            cache[instrument.venue_id] = phase_at(calendar_for(instrument.venue), at)
        return cache[instrument.venue_id]

    return session_for


def database_identity() -> str:
    """Which database the books were built from: its name and oid, which change when the
    database is dropped and created again (``make demo-reset``). A snapshot taken from another
    database must not be restored: its orders do not exist here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_database(), oid FROM pg_database WHERE datname = current_database()"
        )
        name, oid = cursor.fetchone()
    return f"{name}:{oid}"


def shard_instruments(shard: int) -> list[Instrument]:
    return list(
        Instrument.objects.filter(shard=shard, tradable=True)
        .select_related("venue")
        .order_by("symbol")
    )


def last_known_seq(shard: int) -> int:
    """The highest engine seq the database has recorded for ``shard``: new events must number
    above it, or the applier (which skips seqs at or below its progress) would drop them."""
    candidates = [
        ShardProgress.objects.filter(shard=shard).values_list("last_seq", flat=True).first(),
        Order.objects.filter(instrument__shard=shard).aggregate(m=Max("engine_sequence"))["m"],
        Execution.objects.filter(shard=shard).aggregate(m=Max("engine_sequence"))["m"],
    ]
    return max((c for c in candidates if c is not None), default=0)


def load_rebuild_state(
    shard: int, *, session_for: Callable[[Instrument], str], ts_ns: int
) -> RebuildState:
    """Read the shard's instruments and open orders from Postgres (a handful of queries).

    Orders resting without an ``engine_sequence`` (the applier had not recorded it) follow the
    sequenced ones in acceptance order: the best priority evidence left. An order whose time in
    force ended while the engine was gone (a day order past the close, an on-open order past the
    opening auction) is loaded and a cancel for it is queued behind.
    """
    instruments = shard_instruments(shard)
    by_id = {i.pk: i for i in instruments}
    sessions = {i.pk: session_for(i) for i in instruments}
    state = RebuildState(
        specs=[instrument_spec(i, session=sessions[i.pk]) for i in instruments],
        last_seq=last_known_seq(shard),
    )
    open_orders = Order.objects.filter(instrument_id__in=by_id)
    # Postgres sorts NULL engine_sequence last in ascending order: unsequenced orders follow.
    resting = open_orders.filter(status__in=RESTING_STATUSES).order_by(
        "engine_sequence", "accepted_at", "created_at"
    )
    for order in resting:
        order.instrument = by_id[order.instrument_id]
        leaves = quantity_to_lots(order.instrument, order.quantity - order.filled_quantity)
        state.resting.append((new_order_command(order, ts_ns=ts_ns), leaves))
        over = order.time_in_force in _OVER_IN.get(sessions[order.instrument_id], ())
        if over and order.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            # Loaded, then canceled through the engine, so the applier records it.
            state.resend.append(cancel_command(order, ts_ns=ts_ns))

    pending = open_orders.filter(
        status__in=(
            OrderStatus.PENDING_NEW,
            OrderStatus.PENDING_CANCEL,
            OrderStatus.PENDING_REPLACE,
        )
    ).order_by("created_at")
    replacements = {}
    for order in pending:
        order.instrument = by_id[order.instrument_id]
        if order.status == OrderStatus.PENDING_NEW and order.replaces_id is not None:
            replacements[order.replaces_id] = order
    for order in pending:
        if order.status == OrderStatus.PENDING_NEW and order.replaces_id is None:
            state.resend.append(new_order_command(order, ts_ns=ts_ns))
        elif order.status == OrderStatus.PENDING_CANCEL:
            state.resend.append(cancel_command(order, ts_ns=ts_ns))
        elif order.status == OrderStatus.PENDING_REPLACE and order.pk in replacements:
            new = replacements[order.pk]
            state.resend.append(
                replace_command(
                    order,
                    new_order_id=str(new.pk),
                    quantity=new.quantity,
                    limit_price=new.limit_price,
                    stop_price=new.stop_price,
                    ts_ns=ts_ns,
                )
            )
    return state
