"""Order updates for the streaming API: the applier's channel-layer message turned into the
SDK's ``TradeUpdate`` payload. Shared by the WebSocket consumer (``/stream``) and the broker's
server-sent events (``/v1/events/trades``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from apps.api.serializers import OrderOutputSerializer, decimal_string
from apps.compliance.models import AuditEvent
from apps.compliance.services import wait_for_audits_in_flight
from apps.instruments.models import Instrument
from apps.orders.applier import APPLIER_LABEL
from apps.orders.models import LIFECYCLE_FIELDS, Order

ORDER_GROUP = "orders.{account_id}"


def order_group(account_id: object) -> str:
    """The channel-layer group the applier sends an account's order updates to."""
    return ORDER_GROUP.format(account_id=account_id)


def trade_update_payload(message: dict[str, Any]) -> dict[str, Any] | None:
    """``{"type": "order.update", "event", "order_id", "price", "qty", "position_qty",
    "execution_id", "at", "order", "instrument", "replaced_by"}`` (``OrderUpdate.as_message``)
    -> the SDK's TradeUpdate fields, with the order as the message carries it: as it was at the
    event, and without a read of the database per update and socket. None for a message
    without its order."""
    snapshot, instrument = message.get("order"), message.get("instrument")
    if not isinstance(snapshot, dict) or not isinstance(instrument, dict):
        return None
    order = Order.from_snapshot(snapshot)
    order.instrument = Instrument(
        pk=order.instrument_id, symbol=instrument["symbol"], asset_class=instrument["asset_class"]
    )
    replaced_by = message.get("replaced_by")
    _REPLACED_BY.set_cached_value(order, Order(pk=uuid.UUID(replaced_by)) if replaced_by else None)
    return _payload(message, order)


_REPLACED_BY = Order._meta.get_field("replaced_by")


def _payload(message: dict[str, Any], order: Order) -> dict[str, Any]:
    """The figures written as the REST API writes them (``decimal_string``: "580", not
    "580.00000000")."""
    return {
        "event": message.get("event"),
        "event_id": message.get("event_id"),
        "execution_id": message.get("execution_id"),
        "order": OrderOutputSerializer(order).data,
        "timestamp": message.get("at"),
        "position_qty": decimal_string(message.get("position_qty")),
        "price": decimal_string(message.get("price")),
        "qty": decimal_string(message.get("qty")),
        "account_id": str(order.account_id),
    }


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which recorded updates a stream starts with and where it ends (the SDK's
    ``GetEventsRequest``): after ``since_id`` / from ``since``, up to ``until_id`` / ``until``.
    No lower bound: live updates only. An upper bound: the stream ends past it."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    since_id: int | None = None
    until_id: int | None = None

    @property
    def replays(self) -> bool:
        return self.since is not None or self.since_id is not None

    @property
    def ends(self) -> bool:
        return self.until is not None or self.until_id is not None

    def over(self, now: dt.datetime) -> bool:
        return self.until is not None and now >= self.until

    def seconds_left(self, now: dt.datetime) -> float | None:
        return None if self.until is None else max((self.until - now).total_seconds(), 0.0)

    def past_end(self, event_id: int | None, now: dt.datetime) -> bool:
        """A live update with this id, arriving at ``now``, is past the window."""
        if self.until_id is not None and event_id is not None and event_id > self.until_id:
            return True
        return self.over(now)


LIVE_ONLY = EventWindow()
REPLAY_PAGE = 500


def recorded_trade_updates(account_ids: list[str], window: EventWindow) -> Iterator[dict]:
    """The order updates the applier recorded for these accounts within ``window``, oldest
    first, as ``trade_update_payload`` builds live ones (each with its ``event_id``; the order
    with its lifecycle fields as they were at the event, its other fields as they are). Read a
    page at a time, each page's orders in one query."""
    recorded = AuditEvent.objects.filter(
        account_id__in=account_ids, actor_label=APPLIER_LABEL, changes__has_key="update"
    )
    if window.since_id is not None:
        recorded = recorded.filter(id__gt=window.since_id)
    if window.since is not None:
        recorded = recorded.filter(occurred_at__gte=window.since)
    if window.until_id is not None:
        recorded = recorded.filter(id__lte=window.until_id)
    if window.until is not None:
        recorded = recorded.filter(occurred_at__lt=window.until)
    after = 0
    while True:
        page = list(
            recorded.filter(id__gt=after)
            .order_by("id")
            .values_list("id", "object_id", "changes")[:REPLAY_PAGE]
        )
        if not page:
            return
        orders = Order.objects.select_related("instrument", "replaced_by").in_bulk(
            {uuid.UUID(object_id) for _, object_id, _ in page}
        )
        for event_id, object_id, changes in page:
            order = orders.get(uuid.UUID(object_id))
            if order is not None:
                # As it was at the event (rendered before the next entry restores others);
                # entries recorded before the states were kept show it as it is now.
                state = changes["update"].get("order_state")
                if state is not None:
                    order.restore(state, LIFECYCLE_FIELDS)
                yield _payload(_recorded_message(event_id, object_id, changes), order)
        after = page[-1][0]


def _recorded_message(event_id: int, order_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The live message (``OrderUpdate.as_message``) an audit entry of the applier records."""
    return {
        "type": "order.update",
        "event_id": event_id,
        "order_id": order_id,
        "at": changes["engine_time"],
        **changes["update"],
    }


def rest_of_window(
    account_ids: list[str], window: EventWindow, after_id: int | None
) -> Iterator[dict]:
    """At the window's end, its recorded updates after ``after_id`` (all of them when None),
    read once every update drawn before has committed: what the live stream did not bring,
    because a publish came late (another shard's) or never (a publish is lost, a record never)."""
    wait_for_audits_in_flight()
    if after_id is not None:
        window = replace(window, since_id=after_id)
    return recorded_trade_updates(account_ids, window)


def recorded_up_to(event_id: int) -> bool:
    """The updates up to ``event_id`` are all recorded: the applier's ids become visible in
    their order (``audit_many``), and one at or past it is. Other audit events draw from the
    same sequence but commit in any order, so they tell nothing."""
    return AuditEvent.objects.filter(id__gte=event_id, actor_label=APPLIER_LABEL).exists()
