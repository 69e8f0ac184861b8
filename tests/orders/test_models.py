from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.common.errors import Conflict
from apps.orders.choices import OrderStatus, OrderType
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_database_refuses_an_order_with_zero_quantity():
    with pytest.raises(IntegrityError, match="order_quantity_positive"), transaction.atomic():
        OrderFactory(quantity=Decimal(0))


def test_the_database_refuses_a_fill_beyond_the_order_quantity():
    order = OrderFactory(quantity=Decimal(10))
    order.filled_quantity = Decimal(11)
    with pytest.raises(IntegrityError, match="order_filled_within_quantity"), transaction.atomic():
        order.save()


def test_a_limit_order_needs_a_limit_price():
    with pytest.raises(IntegrityError, match="order_limit_price_required"), transaction.atomic():
        OrderFactory(order_type=OrderType.LIMIT, limit_price=None)


def test_a_stop_order_needs_a_stop_price():
    with pytest.raises(IntegrityError, match="order_stop_price_required"), transaction.atomic():
        OrderFactory(order_type=OrderType.STOP, limit_price=None, stop_price=None)


def test_client_order_id_is_unique_per_account_but_not_across_accounts():
    first = OrderFactory(client_order_id="abc")
    OrderFactory(client_order_id="abc")  # another account: fine
    with (
        pytest.raises(IntegrityError, match="client_order_id_unique_per_account"),
        transaction.atomic(),
    ):
        OrderFactory(client_order_id="abc", account=first.account)


def test_a_filled_order_cannot_be_canceled():
    order = OrderFactory(status=OrderStatus.FILLED)

    with pytest.raises(Conflict) as refused:
        order.transition_to(OrderStatus.CANCELED)

    assert refused.value.code == "invalid_transition"
    assert order.status == OrderStatus.FILLED


def test_a_new_order_can_fill_partially_then_completely():
    order = OrderFactory(status=OrderStatus.NEW)

    order.transition_to(OrderStatus.PARTIALLY_FILLED)
    order.transition_to(OrderStatus.FILLED)

    assert order.status == OrderStatus.FILLED


def test_a_held_order_goes_on_as_pending_new_after_approval():
    order = OrderFactory(status=OrderStatus.HELD)

    order.transition_to(OrderStatus.PENDING_NEW)

    assert order.status == OrderStatus.PENDING_NEW
