"""Django side of the engine's commands: Order rows in, integer ticks and lots out, and back.

The engine knows nothing of Decimal, instruments or the ORM: prices are whole ticks and
quantities whole lots of the instrument. Every conversion goes through ``to_units`` so a value
that is not an exact multiple raises ``ValueError`` instead of being rounded: an order service
that validated with ``apps.instruments.rules`` never sends one, and if it did, a loud failure
before the XADD is better than a silently different order on the book.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from apps.common.decimals import from_units, to_units
from apps.instruments.models import Instrument
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
from apps.orders.models import Order

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MICROSECOND = dt.timedelta(microseconds=1)


def now_ns() -> int:
    """Wall-clock time for a command's ``ts_ns`` (the engine itself never reads a clock)."""
    return time.time_ns()


def datetime_to_ns(value: dt.datetime) -> int:
    """An aware datetime as integer nanoseconds since the epoch (exact, no float)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: engine times are UTC")
    return (value - _EPOCH) // _ONE_MICROSECOND * 1000


def ns_to_datetime(ns: int) -> dt.datetime:
    """The inverse of :func:`datetime_to_ns`, truncated to microseconds (Postgres precision)."""
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


# --- Decimal <-> ticks / lots ---------------------------------------------------------------


def price_to_ticks(instrument: Instrument, price: Decimal | None) -> int | None:
    """A price on the instrument's tick grid as whole ticks; ValueError if off the grid."""
    if price is None:
        return None
    return to_units(price, instrument.tick_size)


def quantity_to_lots(instrument: Instrument, quantity: Decimal | None) -> int:
    """A quantity as whole lots; ValueError if not a multiple of the lot size."""
    if quantity is None:
        return 0
    return to_units(quantity, instrument.lot_size)


def price_from_ticks(instrument: Instrument, ticks: int | None) -> Decimal | None:
    """Ticks from an engine event back to a Decimal price."""
    if ticks is None:
        return None
    return from_units(ticks, instrument.tick_size)


def quantity_from_lots(instrument: Instrument, lots: int) -> Decimal:
    """Lots from an engine event back to a Decimal quantity."""
    return from_units(lots, instrument.lot_size)


# --- commands from orders -----------------------------------------------------------------


def _account(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "pk", value))


def new_order_command(order: Order, *, ts_ns: int) -> NewOrder:
    """The engine's ``new`` command for an order row (``order.instrument`` is read).

    Ids travel as strings (order UUID, account UUID) so every process compares them alike.
    Prices the order type does not use are sent as None, so a stale ``limit_price`` on a
    market order cannot reach the book.
    """
    instrument = order.instrument
    order_type = str(order.order_type)
    uses_limit = order_type in ("limit", "stop_limit")
    uses_stop = order_type in ("stop", "stop_limit")
    return NewOrder(
        ts_ns=ts_ns,
        symbol=instrument.symbol,
        order_id=str(order.id),
        account=str(order.account_id),
        side=str(order.side),
        order_type=order_type,
        tif=str(order.time_in_force),
        qty=quantity_to_lots(instrument, order.quantity),
        price=price_to_ticks(instrument, order.limit_price) if uses_limit else None,
        stop_price=price_to_ticks(instrument, order.stop_price) if uses_stop else None,
        display_qty=quantity_to_lots(instrument, order.display_quantity),
        hidden=bool(order.hidden),
        post_only=bool(order.post_only),
        expire_ns=datetime_to_ns(order.expire_at) if order.expire_at is not None else None,
        stp_mode=str(order.self_trade_prevention) if order.self_trade_prevention else None,
    )


def cancel_command(order: Order, *, ts_ns: int) -> Cancel:
    """Cancel a live order; the account is sent so the engine checks ownership."""
    return Cancel(
        ts_ns=ts_ns,
        symbol=order.instrument.symbol,
        order_id=str(order.id),
        account=str(order.account_id),
    )


def replace_command(
    order: Order,
    *,
    new_order_id: str,
    quantity: Decimal,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    ts_ns: int,
) -> Replace:
    """Cancel/replace ``order`` by ``new_order_id``; ``quantity`` is the new TOTAL (filled
    included), None prices keep the current ones (the engine's rule)."""
    instrument = order.instrument
    return Replace(
        ts_ns=ts_ns,
        symbol=instrument.symbol,
        order_id=str(order.id),
        account=str(order.account_id),
        qty=quantity_to_lots(instrument, quantity),
        price=price_to_ticks(instrument, limit_price),
        new_order_id=str(new_order_id),
        stop_price=price_to_ticks(instrument, stop_price),
    )


def mass_cancel_command(
    *, ts_ns: int, symbol: str | None = None, account: Any = None
) -> MassCancel:
    """Cancel every live order of ``account`` (an Account, its id, or None for all accounts)
    in ``symbol`` (None: every symbol of the shard the command is published to).

    A kill switch for one account over all symbols goes to every shard
    (``publish_commands(shard, [cmd])`` for each shard in range(settings.ENGINE_SHARDS)).
    """
    return MassCancel(ts_ns=ts_ns, symbol=symbol, account=_account(account))


def set_session_command(*, ts_ns: int, state: str, symbol: str | None = None) -> SetSession:
    """Session change for one symbol, or every symbol of the shard (symbol None)."""
    return SetSession(ts_ns=ts_ns, state=str(state), symbol=symbol)


def halt_command(*, ts_ns: int, symbol: str, reason: str = "halt") -> Halt:
    return Halt(ts_ns=ts_ns, symbol=symbol, reason=reason)


def resume_command(*, ts_ns: int, symbol: str) -> Resume:
    return Resume(ts_ns=ts_ns, symbol=symbol)


def expire_orders_command(*, ts_ns: int) -> ExpireOrders:
    """Expire every GTD order whose expiry is at or before ``ts_ns``."""
    return ExpireOrders(ts_ns=ts_ns)
