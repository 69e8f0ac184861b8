from decimal import Decimal

import factory

from apps.orders.choices import OrderSource, OrderStatus, OrderType, Side, TimeInForce
from apps.orders.models import Order
from tests.clients.factories import AccountFactory
from tests.instruments.factories import EquityFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    client_order_id = factory.Sequence(lambda n: f"cl-{n}")
    account = factory.SubFactory(AccountFactory)
    instrument = factory.SubFactory(EquityFactory)
    side = Side.BUY
    order_type = OrderType.LIMIT
    time_in_force = TimeInForce.DAY
    quantity = Decimal(100)
    limit_price = Decimal("99.50")
    status = OrderStatus.NEW
    source = OrderSource.API


class ExecutionFactory(factory.django.DjangoModelFactory):
    """One full fill of ``order`` at its limit price, on the order's own account and instrument.
    Settles the same day; pass ``settle_date`` for a T+1 instrument."""

    class Meta:
        model = "orders.Execution"

    order = factory.SubFactory(OrderFactory, status=OrderStatus.FILLED)
    account = factory.LazyAttribute(lambda e: e.order.account)
    instrument = factory.LazyAttribute(lambda e: e.order.instrument)
    side = factory.LazyAttribute(lambda e: e.order.side)
    shard = 0
    engine_sequence = factory.Sequence(lambda n: n + 1)
    price = factory.LazyAttribute(lambda e: e.order.limit_price or Decimal("100.00"))
    quantity = factory.LazyAttribute(lambda e: e.order.quantity)
    liquidity = "taker"
    commission = Decimal("1.00")
    regulatory_fees = Decimal("0.02")
    executed_at = factory.LazyAttribute(lambda e: e.order.created_at)
    settle_date = factory.LazyAttribute(lambda e: e.executed_at.date())
