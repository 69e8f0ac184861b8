"""Orders of one account entered at the same moment on two connections: the cash row lock
serializes them, and the second sees what the first committed (its reservation, its open
quantity), so no limit can be passed twice by the same headroom."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.clients.models import Account
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.orders.services import OrderRejected, order_submit
from apps.positions.models import CashBalance
from tests.clients.factories import RiskLimitFactory
from tests.instruments.factories import EquityFactory
from tests.trading import funded_account, limit_order

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def submit_together(orders: list[dict]) -> list[str]:
    """Submit each order on its own connection, all released by one barrier; the outcome of
    each: its status or its rejection code."""
    barrier = threading.Barrier(len(orders))
    outcomes: list[str] = []

    def enter(kwargs: dict) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(order_submit(**kwargs).status)
        except OrderRejected as rejection:
            outcomes.append(rejection.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=enter, args=(kwargs,)) for kwargs in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == len(orders), "an order neither entered nor refused"
    return sorted(outcomes)


def buy_60(account: Account, instrument) -> dict:
    """A buy of 60 at 99.00, for an account instance of its own (one per thread)."""
    return limit_order(Account.objects.get(pk=account.pk), instrument, "buy", 60, "99.00")


@pytest.fixture
def acme(stream_prefix):
    return EquityFactory(symbol="ACME", reference_price=D("100.00"))


def test_two_orders_cannot_both_use_the_last_position_headroom(acme):
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_position_quantity=D(100))

    outcomes = submit_together([buy_60(account, acme), buy_60(account, acme)])

    assert outcomes == sorted([OrderStatus.PENDING_NEW, "max_position_exceeded"])
    assert Order.objects.filter(account=account, status=OrderStatus.PENDING_NEW).count() == 1


def test_two_orders_cannot_both_spend_the_same_cash(acme):
    account = funded_account(cash=D(10_000))

    outcomes = submit_together([buy_60(account, acme), buy_60(account, acme)])

    assert outcomes == sorted([OrderStatus.PENDING_NEW, "insufficient_buying_power"])
    assert CashBalance.objects.get(account=account).reserved == D("5940.00")
