import datetime as dt
from decimal import Decimal

import pytest

from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.orders.services import order_submit, orders_resend_stale
from tests.instruments.factories import EquityFactory
from tests.trading import funded_account

pytestmark = pytest.mark.django_db
D = Decimal


def test_an_order_whose_publish_was_lost_reaches_the_engine_through_the_sweeper(market):
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    market.list(acme)
    # Submitted without running the after-commit publish: as if the process died right after COMMIT.
    order = order_submit(
        account=funded_account(),
        instrument=acme,
        side="buy",
        order_type="limit",
        time_in_force="day",
        quantity=D(5),
        limit_price=D("99.00"),
    )
    assert market.step().applied == 0
    Order.objects.filter(pk=order.pk).update(updated_at=order.updated_at - dt.timedelta(seconds=10))

    assert orders_resend_stale() == 1
    market.step()
    assert orders_resend_stale() == 0  # accepted: nothing stale any more

    order.refresh_from_db()
    assert order.status == OrderStatus.NEW


def test_resending_an_order_the_engine_already_has_changes_nothing(market, submit):
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    market.list(acme)
    order = submit(
        order_submit,
        account=funded_account(),
        instrument=acme,
        side="buy",
        order_type="limit",
        time_in_force="day",
        quantity=D(5),
        limit_price=D("99.00"),
    )
    Order.objects.filter(pk=order.pk).update(updated_at=order.updated_at - dt.timedelta(seconds=10))
    orders_resend_stale()  # the first publish and the resend are both on the stream

    batch = market.step()

    assert [u.event for u in batch.updates] == ["new"]
