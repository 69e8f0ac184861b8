"""Every pre-trade refusal: a stable code, a message, a recorded rejected order, nothing held."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.clients.choices import ComplianceStatus, KycStatus
from apps.common.errors import ValidationFailed
from apps.compliance.models import AuditEvent, RestrictedInstrument
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.orders.services import OrderRejected, order_submit
from apps.positions.models import CashBalance
from apps.risk.models import KillSwitch, Locate
from tests.clients.factories import RiskLimitFactory
from tests.instruments.factories import EquityFactory, OptionFactory
from tests.orders.factories import ExecutionFactory
from tests.trading import funded_account, holding

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _isolated_streams(stream_prefix):
    """Rate counters and published commands live under a per-test prefix."""


@pytest.fixture
def acme():
    return EquityFactory(symbol="ACME", reference_price=D("100.00"), easy_to_borrow=False)


def buy(account, instrument, qty="10", price="100.00", **extra):
    return order_submit(
        account=account,
        instrument=instrument,
        side=extra.pop("side", "buy"),
        order_type="limit",
        time_in_force="day",
        quantity=D(qty),
        limit_price=D(price),
        **extra,
    )


def refused(code, call, *args, **kwargs):
    with pytest.raises(OrderRejected) as rejection:
        call(*args, **kwargs)
    assert rejection.value.code == code
    assert rejection.value.message
    order = rejection.value.order
    assert (
        order is not None and order.status == OrderStatus.REJECTED and order.reject_reason == code
    )
    assert AuditEvent.objects.filter(action="order.rejected", object_id=str(order.pk)).exists()
    return order


def test_insufficient_buying_power_in_a_cash_account(acme):
    account = funded_account(cash=D(500))

    refused("insufficient_buying_power", buy, account, acme, qty="10")

    assert CashBalance.objects.get(account=account).reserved == 0


def test_open_orders_use_up_buying_power(acme):
    account = funded_account(cash=D(1500))
    buy(account, acme, qty="10")

    refused("insufficient_buying_power", buy, account, acme, qty="6")


def test_a_margin_account_buys_marginable_stock_at_half_the_cash(acme):
    account = funded_account(cash=D(1000), account_type="margin")

    order = buy(account, acme, qty="19")  # 1,900 notional needs 950 under Reg T

    assert order.status == OrderStatus.PENDING_NEW
    assert order.reserved_amount == D(950)


def test_a_margin_account_counts_what_it_holds_toward_buying_power(acme):
    # 1,000 cash and 100 shares of another stock marked at 50: equity 6,000, of which the
    # holding's Reg T requirement (2,500) is spoken for: 3,500 of buying power.
    account = funded_account(cash=D(1000), account_type="margin")
    other = EquityFactory(symbol="OTHR", reference_price=D("50.00"))
    holding(account, other, D(100), D("40.00"))

    order = buy(account, acme, qty="70")  # 7,000 notional needs 3,500

    assert order.reserved_amount == D(3500)
    refused("insufficient_buying_power", buy, account, acme, qty="1")


def test_max_order_quantity_and_notional(acme):
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_order_quantity=D(100), max_order_notional=D(5000))

    too_many = refused("max_order_quantity_exceeded", buy, account, acme, qty="101")
    assert "limited to 100 units" in too_many.reject_message
    refused("max_order_notional_exceeded", buy, account, acme, qty="51")


def test_max_position_counts_open_orders_on_the_same_side(acme):
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_position_quantity=D(100))
    buy(account, acme, qty="60")

    refused("max_position_exceeded", buy, account, acme, qty="50")


def test_a_cash_account_cannot_sell_what_it_does_not_hold(acme):
    account = funded_account()

    refused("short_selling_not_permitted", buy, account, acme, side="sell")


def test_a_long_position_sells_only_what_its_open_sells_leave_free(acme):
    account = funded_account(cash=D(0))
    holding(account, acme, D(10), D(90))
    buy(account, acme, qty="6", side="sell")

    rejection = refused("insufficient_qty", buy, account, acme, qty="10", side="sell")

    assert rejection.reject_message == (
        "insufficient qty available for order (requested: 10, available: 4)"
    )
    with pytest.raises(OrderRejected) as again:
        buy(account, acme, qty="5", side="sell")
    assert again.value.details == {
        "symbol": "ACME",
        "existing_qty": "10",
        "held_for_orders": "6",
        "available": "4",
    }
    assert buy(account, acme, qty="4", side="sell").status == OrderStatus.PENDING_NEW


def test_selling_what_is_held_needs_no_cash(acme):
    account = funded_account(cash=D(0))
    holding(account, acme, D(10), D(90))

    assert buy(account, acme, side="sell").status == OrderStatus.PENDING_NEW


def test_a_short_sale_needs_a_locate_unless_easy_to_borrow(acme):
    account = funded_account(account_type="margin")
    acme.shortable = True
    acme.save()

    refused("no_locate", buy, account, acme, side="sell")

    Locate.objects.create(
        account=account,
        instrument=acme,
        quantity=D(10),
        expires_at=timezone.now() + dt.timedelta(hours=8),
    )
    assert buy(account, acme, side="sell").status == OrderStatus.PENDING_NEW
    assert Locate.objects.get(account=account).used_quantity == D(10)


def test_an_instrument_that_is_not_shortable(acme):
    acme.shortable = False
    acme.save()

    refused("not_shortable", buy, funded_account(account_type="margin"), acme, side="sell")


@pytest.mark.parametrize("scope", ["firm", "client", "account"])
def test_a_kill_switch_stops_new_orders(acme, scope):
    account = funded_account()
    target = {"firm": {}, "client": {"client": account.client}, "account": {"account": account}}[
        scope
    ]
    KillSwitch.objects.create(scope=scope, reason="runaway algo", **target)

    refused("kill_switch_active", buy, account, acme)


def test_per_account_order_rate(acme):
    account = funded_account()
    RiskLimitFactory(account=account, max_orders_per_second=2)

    # Five orders in well under two seconds: whichever second they fall in, one second holds
    # three of them, and the third in a second is refused.
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append(buy(account, acme).status)
        except OrderRejected as rejection:
            outcomes.append(rejection.code)
            break
    assert outcomes[-1] == "order_rate_exceeded"
    assert outcomes.count(OrderStatus.PENDING_NEW) >= 2


def test_restricted_list(acme):
    RestrictedInstrument.objects.create(instrument=acme, reason="pending merger")

    refused("restricted_instrument", buy, funded_account(), acme)


def test_a_restriction_for_one_client_stops_only_that_client(acme):
    insider, other = funded_account(), funded_account()
    RestrictedInstrument.objects.create(instrument=acme, client=insider.client, reason="insider")
    RestrictedInstrument.objects.create(instrument=acme, reason="lifted", active=False)

    refused("restricted_instrument", buy, insider, acme)
    assert buy(other, acme).status == OrderStatus.PENDING_NEW


def test_asset_class_permission(acme):
    account = funded_account(asset_classes=["crypto"])

    refused("asset_class_not_permitted", buy, account, acme)


def test_option_level(acme):
    option = OptionFactory(underlying=acme, reference_price=D("5.00"))
    account = funded_account(asset_classes=["equity", "option"])

    refused("option_level_insufficient", buy, account, option, price="5.00")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kyc_status": KycStatus.PENDING}, "kyc_not_approved"),
        ({"compliance_status": ComplianceStatus.FROZEN}, "account_frozen"),
    ],
)
def test_client_state(acme, change, code):
    account = funded_account()
    for name, value in change.items():
        setattr(account.client, name, value)
    account.client.save()

    refused(code, buy, account, acme)


def test_an_inactive_account(acme):
    account = funded_account(status="DISABLED")

    refused("account_not_active", buy, account, acme)


def test_an_untradable_instrument(acme):
    acme.tradable = False
    acme.save()

    refused("instrument_not_tradable", buy, funded_account(), acme)


def test_a_limit_price_outside_the_band(acme):
    with pytest.raises(ValidationFailed) as malformed:
        buy(funded_account(), acme, price="150.00")

    assert malformed.value.code == "price_outside_band"
    assert not Order.objects.exists()  # a malformed request leaves no row


def test_a_price_off_the_tick_grid(acme):
    with pytest.raises(ValidationFailed) as malformed:
        buy(funded_account(), acme, price="100.001")

    assert malformed.value.code == "invalid_tick"


def test_a_limit_far_through_the_reference_is_held_for_a_risk_manager(acme):
    order = buy(funded_account(), acme, price="107.00")

    assert order.status == OrderStatus.HELD
    assert order.risk_alerts.get().code == "price_collar"


def test_a_market_order_without_a_reference_price(acme):
    acme.reference_price = None
    acme.save()

    refused(
        "no_reference_price",
        order_submit,
        account=funded_account(),
        instrument=acme,
        side="buy",
        order_type="market",
        time_in_force="day",
        quantity=D(1),
    )


def test_the_same_client_order_id_twice_is_one_order(acme):
    account = funded_account()

    first = buy(account, acme, client_order_id="algo-1")
    second = buy(account, acme, client_order_id="algo-1")

    assert first.pk == second.pk
    assert Order.objects.filter(account=account).count() == 1
    with pytest.raises(ValidationFailed) as different:
        buy(account, acme, qty="11", client_order_id="algo-1")
    assert different.value.code == "duplicate_client_order_id"


def test_after_the_daily_loss_limit_only_orders_that_reduce_a_position_go_through(acme):
    account = funded_account()
    holding(account, acme, D(50), D(100))
    RiskLimitFactory(account=account, daily_loss_limit=D(500))
    ExecutionFactory(
        order__account=account, order__instrument=acme, order__side="sell", realized_pnl=D(-600)
    )

    refused("daily_loss_limit_reached", buy, account, acme)

    assert buy(account, acme, side="sell").status == OrderStatus.PENDING_NEW


def test_a_position_above_the_concentration_limit_is_held(acme):
    account = funded_account(cash=D(100_000))
    RiskLimitFactory(account=account, max_concentration_percent=D(10))

    small = buy(account, acme, qty="50")  # 5,000 of 100,000
    large = buy(account, acme, qty="100")  # with the open 50: 15,000, above 10%

    assert small.status == OrderStatus.PENDING_NEW
    assert large.status == OrderStatus.HELD
    assert large.risk_alerts.get().code == "concentration"
