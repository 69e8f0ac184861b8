"""The trade update payload reads the order as ``select_related("instrument", "replaced_by")``
would, with statements built once."""

import uuid

import pytest

from apps.api.serializers import OrderOutputSerializer
from apps.api.streaming import trade_update_payload
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def message(order_id) -> dict:
    return {"type": "order.update", "event": "replaced", "order_id": str(order_id), "at": None}


def as_the_orm_loads_it(order) -> dict:
    loaded = Order.objects.select_related("instrument", "replaced_by").get(pk=order.pk)
    return OrderOutputSerializer(loaded).data


@pytest.mark.parametrize("replaced", [False, True])
def test_the_payload_carries_the_order_as_the_orm_reads_it(replaced):
    order = OrderFactory(status=OrderStatus.REPLACED if replaced else OrderStatus.NEW)
    if replaced:
        OrderFactory(account=order.account, instrument=order.instrument, replaces=order)

    payload = trade_update_payload(message(order.pk))

    assert payload["order"] == as_the_orm_loads_it(order)
    assert (payload["order"]["replaced_by"] is not None) is replaced
    assert payload["account_id"] == str(order.account_id)


@pytest.mark.parametrize("order_id", [uuid.uuid4(), "not-an-id", None])
def test_an_unknown_order_has_no_payload(order_id):
    assert trade_update_payload(message(order_id)) is None
