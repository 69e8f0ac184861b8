"""Every pre-trade refusal reaches the SDK as a 403 with its stable code and a message, and the
refused order is recorded. The web server is the whole path of a refusal (nothing reaches the
matcher), so a live server is the end to end here; tests/risk/test_pretrade.py pins each
rule's edges in the service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from apps.clients.choices import ComplianceStatus, KycStatus
from apps.compliance.models import AuditEvent, RestrictedInstrument
from apps.instruments.models import Instrument
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.risk.models import KillSwitch
from tests.api.factories import issue_trading_key
from tests.clients.factories import RiskLimitFactory
from tests.instruments.factories import EquityFactory, OptionFactory
from tests.orders.factories import ExecutionFactory
from tests.trading import funded_account, holding

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
PRICE = D("100.00")  # ACME's reference price


@dataclass
class Attempt:
    """An account and the order it sends (up to ``tries`` times, until refused); ``before``
    are orders it sends first, accepted."""

    account: object
    symbol: str = "ACME"
    side: OrderSide = OrderSide.BUY
    qty: int = 10
    limit_price: Decimal | None = PRICE
    tries: int = 1
    before: int = 0
    before_side: OrderSide = OrderSide.BUY
    before_qty: int = 10


def acme() -> Instrument:
    return Instrument.objects.get(symbol="ACME")


def change_acme(**changes) -> None:
    instrument = acme()
    for name, value in changes.items():
        setattr(instrument, name, value)
    instrument.save()  # reference data announces the change to every process's copies


def buying_power() -> Attempt:
    return Attempt(funded_account(cash=D(500)))


def held_by_open_sells() -> Attempt:
    account = funded_account(cash=D(0))
    holding(account, acme(), D(10), D(90))
    return Attempt(account, side=OrderSide.SELL, before=1, before_side=OrderSide.SELL, before_qty=6)


def short_in_a_cash_account() -> Attempt:
    return Attempt(funded_account(), side=OrderSide.SELL)


def not_shortable() -> Attempt:
    change_acme(shortable=False)
    return Attempt(funded_account(account_type="margin"), side=OrderSide.SELL)


def no_locate() -> Attempt:
    change_acme(shortable=True)
    return Attempt(funded_account(account_type="margin"), side=OrderSide.SELL)


def kill_switch() -> Attempt:
    account = funded_account()
    KillSwitch.objects.create(scope="account", account=account, reason="runaway algo")
    return Attempt(account)


def order_rate() -> Attempt:
    account = funded_account()
    RiskLimitFactory(account=account, max_orders_per_second=2)
    return Attempt(account, qty=1, tries=5)  # five within two seconds: three in one of them


def restricted() -> Attempt:
    RestrictedInstrument.objects.create(instrument=acme(), reason="pending merger")
    return Attempt(funded_account())


def asset_class() -> Attempt:
    return Attempt(funded_account(asset_classes=["crypto"]))


def option_level() -> Attempt:
    option = OptionFactory(underlying=acme(), reference_price=D("5.00"))
    account = funded_account(asset_classes=["equity", "option"])
    return Attempt(account, symbol=option.symbol, qty=1, limit_price=D("5.00"))


def kyc_pending() -> Attempt:
    account = funded_account()
    account.client.kyc_status = KycStatus.PENDING
    account.client.save()
    return Attempt(account)


def frozen() -> Attempt:
    account = funded_account()
    account.client.compliance_status = ComplianceStatus.FROZEN
    account.client.save()
    return Attempt(account)


def order_quantity() -> Attempt:
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_order_quantity=D(100))
    return Attempt(account, qty=101)


def order_notional() -> Attempt:
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_order_notional=D(5000))
    return Attempt(account, qty=51)


def position() -> Attempt:
    account = funded_account(cash=D(1_000_000))
    RiskLimitFactory(account=account, max_position_quantity=D(100))
    return Attempt(account, qty=50, before=1, before_qty=60)


def daily_loss() -> Attempt:
    account = funded_account()
    instrument = acme()
    holding(account, instrument, D(50), D(100))
    RiskLimitFactory(account=account, daily_loss_limit=D(500))
    ExecutionFactory(
        order__account=account, order__instrument=instrument, order__side="sell",
        realized_pnl=D(-600),
    )  # fmt: skip
    return Attempt(account)


def no_reference_price() -> Attempt:
    change_acme(reference_price=None)
    return Attempt(funded_account(), limit_price=None)


def untradable() -> Attempt:
    change_acme(tradable=False)
    return Attempt(funded_account())


REFUSALS: dict[str, Callable[[], Attempt]] = {
    "insufficient_buying_power": buying_power,
    "insufficient_qty": held_by_open_sells,
    "short_selling_not_permitted": short_in_a_cash_account,
    "not_shortable": not_shortable,
    "no_locate": no_locate,
    "kill_switch_active": kill_switch,
    "order_rate_exceeded": order_rate,
    "restricted_instrument": restricted,
    "asset_class_not_permitted": asset_class,
    "option_level_insufficient": option_level,
    "kyc_not_approved": kyc_pending,
    "account_frozen": frozen,
    "max_order_quantity_exceeded": order_quantity,
    "max_order_notional_exceeded": order_notional,
    "max_position_exceeded": position,
    "daily_loss_limit_reached": daily_loss,
    "no_reference_price": no_reference_price,
    "instrument_not_tradable": untradable,
}


def _request(symbol: str, side: OrderSide, qty: int, limit_price: Decimal | None):
    if limit_price is None:
        return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY)
    return LimitOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY, limit_price=limit_price
    )


@pytest.mark.parametrize("code", REFUSALS)
def test_each_refusal_reaches_the_sdk_with_its_code(code, live_server, stream_prefix):
    EquityFactory(symbol="ACME", reference_price=PRICE, easy_to_borrow=False)
    attempt = REFUSALS[code]()
    key, secret = issue_trading_key(attempt.account)
    client = TradingClient(key.key_id, secret, paper=True, url_override=live_server.url)
    for _ in range(attempt.before):
        accepted = client.submit_order(
            _request(attempt.symbol, attempt.before_side, attempt.before_qty, PRICE)
        )
        assert accepted.status == OrderStatus.PENDING_NEW

    with pytest.raises(APIError) as refused:
        for _ in range(attempt.tries):
            client.submit_order(
                _request(attempt.symbol, attempt.side, attempt.qty, attempt.limit_price)
            )

    assert refused.value.status_code == 403
    assert refused.value.code == code
    assert refused.value.message
    recorded = Order.objects.filter(account=attempt.account, reject_reason=code).get()
    assert recorded.status == OrderStatus.REJECTED
    assert AuditEvent.objects.filter(action="order.rejected", object_id=str(recorded.pk)).exists()
