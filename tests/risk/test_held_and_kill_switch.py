from decimal import Decimal

import pytest

from apps.compliance.models import AuditEvent
from apps.orders.choices import OrderStatus
from apps.orders.services import OrderRejected, order_approve_held, order_refuse_held, order_submit
from apps.positions.models import CashBalance
from apps.risk.models import KillSwitch
from apps.risk.services import kill_switch_engage, kill_switch_release
from tests.clients.factories import UserFactory
from tests.trading import funded_account, limit_order

pytestmark = pytest.mark.django_db
D = Decimal


def test_an_approved_held_order_goes_to_the_market(market, submit, acme):
    risk_manager = UserFactory(username="rita")
    held = submit(order_submit, **limit_order(funded_account(), acme, "buy", 10, "107.00"))
    assert held.status == OrderStatus.HELD

    submit(order_approve_held, order=held, actor=risk_manager)
    market.step()

    held.refresh_from_db()
    assert held.status == OrderStatus.NEW
    assert held.risk_alerts.get().status == "approved"
    assert AuditEvent.objects.filter(
        action="order.approved", actor=risk_manager, object_id=str(held.pk)
    ).exists()


def test_a_refused_held_order_is_rejected_and_releases_its_reservation(market, submit, acme):
    risk_manager = UserFactory(username="rita")
    account = funded_account()
    held = submit(order_submit, **limit_order(account, acme, "buy", 10, "107.00"))
    assert CashBalance.objects.get(account=account).reserved == D(1070)

    submit(order_refuse_held, order=held, actor=risk_manager, reason="fat finger")
    market.step()

    held.refresh_from_db()
    assert (held.status, held.reject_reason) == (OrderStatus.REJECTED, "refused_by_risk")
    assert CashBalance.objects.get(account=account).reserved == 0
    assert held.risk_alerts.get().status == "refused"
    assert AuditEvent.objects.filter(action="order.refused", actor=risk_manager).exists()


def test_an_account_kill_switch_cancels_open_orders_and_blocks_new_ones(market, submit, acme):
    account = funded_account()
    other = funded_account()
    resting = submit(order_submit, **limit_order(account, acme, "buy", 10, "99.00"))
    held = submit(order_submit, **limit_order(account, acme, "buy", 10, "107.00"))
    others = submit(order_submit, **limit_order(other, acme, "buy", 10, "99.00"))
    market.step()

    switch = submit(
        kill_switch_engage, scope="account", account=account, reason="runaway algo", actor=None
    )
    market.step()

    for o in (resting, held, others):
        o.refresh_from_db()
    assert resting.status == OrderStatus.CANCELED
    assert held.status == OrderStatus.CANCELED
    assert others.status == OrderStatus.NEW
    with pytest.raises(OrderRejected) as refused:
        submit(order_submit, **limit_order(account, acme, "buy", 10, "99.00"))
    assert refused.value.code == "kill_switch_active"

    kill_switch_release(switch=switch, actor=None)
    assert (
        submit(order_submit, **limit_order(account, acme, "buy", 10, "99.00")).status
        == OrderStatus.PENDING_NEW
    )
    assert not KillSwitch.objects.filter(active=True).exists()
