"""Order updates for the streaming API: the applier's channel-layer message turned into the
SDK's ``TradeUpdate`` payload. Shared by the WebSocket consumer (``/stream``) and the broker's
server-sent events (``/v1/events/trades``)."""

from __future__ import annotations

import uuid
from typing import Any

from apps.api.serializers import OrderOutputSerializer
from apps.common.rows import select_joined
from apps.instruments.models import Instrument
from apps.orders.models import Order

ORDER_GROUP = "orders.{account_id}"


def order_group(account_id: object) -> str:
    """The channel-layer group the applier sends an account's order updates to."""
    return ORDER_GROUP.format(account_id=account_id)


def trade_update_payload(message: dict[str, Any]) -> dict[str, Any] | None:
    """``{"type": "order.update", "event", "order_id", "price", "qty", "position_qty",
    "execution_id", "at"}`` -> the SDK's TradeUpdate fields, with the order as it is now in the
    database (the applier sends after its commit). None when the order is gone."""
    order = _order_with_relations(message.get("order_id"))
    if order is None:
        return None
    return {
        "event": message.get("event"),
        "execution_id": message.get("execution_id"),
        "order": OrderOutputSerializer(order).data,
        "timestamp": message.get("at"),
        "position_qty": message.get("position_qty"),
        "price": message.get("price"),
        "qty": message.get("qty"),
        "account_id": str(order.account_id),
    }


# The order, its instrument and its replacement (an order has at most one: ``replaces`` is
# unique), as ``select_related("instrument", "replaced_by")`` joins them.
_ORDER_TABLES = (
    (Order, "o", ""),
    (Instrument, "i", "JOIN {table} i ON i.id = o.instrument_id"),
    (Order, "r", "LEFT JOIN {table} r ON r.replaces_id = o.id"),
)


def _order_with_relations(order_id: Any) -> Order | None:
    """The order with its instrument and replacement, as ``select_related("instrument",
    "replaced_by")`` would load it, in one statement built once (``rows.select_joined``): every
    update of every listening socket reads one, and building the ORM's join was most of an
    update's CPU on the stream's server."""
    try:
        order_id = uuid.UUID(str(order_id))
    except ValueError:
        return None
    loaded = select_joined(_ORDER_TABLES, "o.id = %s", [order_id])
    if loaded is None:
        return None
    order, instrument, replacement = loaded
    order.instrument = instrument
    Order._meta.get_field("replaced_by").set_cached_value(order, replacement)
    return order
