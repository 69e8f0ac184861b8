"""A trade update's order: carried by the applier's message as it was at the event, rendered
as the REST API renders the order, without reading it back; replayed with the lifecycle fields
its audit event recorded."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.api.serializers import OrderOutputSerializer
from apps.api.streaming import EventWindow, recorded_trade_updates, trade_update_payload
from apps.compliance.models import AuditEvent
from apps.orders.applier import OrderUpdate
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def as_the_orm_loads_it(order) -> dict:
    loaded = Order.objects.select_related("instrument", "replaced_by").get(pk=order.pk)
    return OrderOutputSerializer(loaded).data


@pytest.mark.parametrize("replaced", [False, True])
def test_the_payload_renders_the_carried_order_as_the_rest_api_renders_it(
    replaced, django_assert_num_queries
):
    order = OrderFactory(status=OrderStatus.REPLACED if replaced else OrderStatus.NEW)
    replacement = (
        OrderFactory(account=order.account, instrument=order.instrument, replaces=order)
        if replaced
        else None
    )
    event = "replaced" if replaced else "new"
    update = OrderUpdate.of(
        order, event, order.updated_at, str(replacement.pk) if replacement else None
    )

    with django_assert_num_queries(0):
        payload = trade_update_payload(update.as_message())

    assert payload["order"] == as_the_orm_loads_it(order)
    assert payload["account_id"] == str(order.account_id)


def test_live_and_replayed_updates_show_the_order_as_it_was_at_their_event():
    order = OrderFactory(status=OrderStatus.NEW, quantity=Decimal("10"))
    at = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
    new = OrderUpdate.of(order, "new", at)
    AuditEvent.objects.create(
        actor_label="applier",
        action="order.accepted",
        object_type="orders.order",
        object_id=str(order.pk),
        account_id=order.account_id,
        changes={"update": new.details(), "engine_time": at.isoformat()},
    )
    # Filled since: the update was about the order when it was new.
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.FILLED, filled_quantity=Decimal("10"), filled_at=at
    )

    live = trade_update_payload(new.as_message())
    (replayed,) = recorded_trade_updates([str(order.account_id)], EventWindow(since_id=0))

    for payload in (live, replayed):
        assert payload["order"]["status"] == "new"
        assert payload["order"]["filled_qty"] == "0"
        assert payload["order"]["filled_at"] is None
        assert payload["order"]["updated_at"] == "2026-12-07T15:00:00.000000Z"


@pytest.mark.parametrize("carried", [{}, {"order": "not an order"}])
def test_a_message_without_its_order_has_no_payload(carried):
    message = {"type": "order.update", "event": "new", "order_id": "x", "at": None, **carried}
    assert trade_update_payload(message) is None
