"""The trading API through alpaca-py's TradingClient, pointed at our server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import AssetClass, OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
)

from apps.instruments.models import Instrument
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from tests.orders.factories import OrderFactory
from tests.trading import holding

pytestmark = pytest.mark.django_db(transaction=True)


def test_get_account_reports_seeded_cash_as_decimal_strings(demo, live_server):
    account = demo.trading(live_server.url).get_account()
    assert str(account.id) == str(demo.accounts["DEMO0001"].pk)
    assert account.account_number == "DEMO0001"
    assert account.status == "ACTIVE"
    assert account.cash == "100000"
    assert account.buying_power == "100000"
    assert account.equity == "100000"
    assert account.portfolio_value == "100000"
    assert account.currency == "USD"
    assert account.pattern_day_trader is False


def test_submit_limit_order_creates_pending_new_order(demo, live_server):
    client = demo.trading(live_server.url)
    order = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=10,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=229.5,
            client_order_id="my-first-order",
        )
    )
    assert order.status == "pending_new"
    assert order.symbol == "AAPL"
    assert order.qty == "10"
    assert order.limit_price == "229.5"
    assert order.client_order_id == "my-first-order"
    row = Order.objects.get(pk=order.id)
    assert row.account == demo.accounts["DEMO0001"]
    assert row.quantity == Decimal(10)
    assert row.limit_price == Decimal("229.5")
    assert row.source == "api"
    assert row.status == OrderStatus.PENDING_NEW

    assert client.get_order_by_id(order.id).id == order.id
    assert client.get_order_by_client_id("my-first-order").id == order.id
    listed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["AAPL"]))
    assert [o.id for o in listed] == [order.id]
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED)) == []


def test_a_notional_order_keeps_the_dollar_amount_and_buys_whole_lots(demo, live_server):
    client = demo.trading(live_server.url)

    order = client.submit_order(
        MarketOrderRequest(
            symbol="AAPL", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        )
    )

    assert (order.notional, order.qty) == ("1000", "4")  # four shares at the 230 reference
    assert Order.objects.get(pk=order.id).notional == Decimal(1000)


def test_extended_hours_is_refused_with_a_reason(demo, live_server):
    client = demo.trading(live_server.url)
    request = LimitOrderRequest(
        symbol="AAPL",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        limit_price=229.5,
        extended_hours=True,
    )

    with pytest.raises(APIError) as refused:
        client.submit_order(request)

    assert refused.value.status_code == 422
    assert "extended_hours_not_offered" in str(refused.value)
    assert not Order.objects.filter(account=demo.accounts["DEMO0001"]).exists()


def test_cancel_order_and_cancel_all(demo, live_server):
    client = demo.trading(live_server.url)
    first = client.submit_order(
        LimitOrderRequest(
            symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=419
        )
    )
    second = client.submit_order(
        LimitOrderRequest(
            symbol="MSFT", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=418
        )
    )
    client.cancel_order_by_id(first.id)
    assert Order.objects.get(pk=first.id).status == OrderStatus.PENDING_CANCEL
    responses = client.cancel_orders()
    assert [r.id for r in responses] == [second.id]
    assert responses[0].status == 200
    assert Order.objects.get(pk=second.id).status == OrderStatus.PENDING_CANCEL


def test_replace_order_returns_the_new_order(demo, live_server):
    client = demo.trading(live_server.url)
    order = client.submit_order(
        LimitOrderRequest(
            symbol="KO", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=64
        )
    )
    Order.objects.filter(pk=order.id).update(status=OrderStatus.NEW)  # the matcher accepted it
    from alpaca.trading.requests import ReplaceOrderRequest

    new = client.replace_order_by_id(order.id, ReplaceOrderRequest(qty=8, limit_price=64.5))
    assert new.id != order.id
    assert new.replaces == order.id
    assert new.qty == "8"
    assert new.limit_price == "64.5"
    assert Order.objects.get(pk=order.id).status == OrderStatus.PENDING_REPLACE


def test_rejected_order_is_an_api_error_with_our_code(demo, live_server):
    client = demo.trading(live_server.url, "DEMO0003")  # grace: 100k cash, no options
    with pytest.raises(APIError) as caught:
        client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", qty=5000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
    error = caught.value
    assert error.status_code == 403
    assert isinstance(error.code, str) and error.code
    assert error.message
    rejected = Order.objects.get(account=demo.accounts["DEMO0003"])
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.reject_reason == error.code


def test_invalid_order_is_422_in_sdk_shape(demo, live_server):
    client = demo.trading(live_server.url)
    with pytest.raises(APIError) as caught:
        client.submit_order(
            MarketOrderRequest(
                symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
    assert caught.value.status_code == 422
    assert caught.value.code == "asset_not_found"


def test_positions_of_the_market_maker(demo, live_server):
    client = demo.trading(live_server.url, "DEMO0005")
    positions = client.get_all_positions()
    symbols = {p.symbol for p in positions}
    assert {"AAPL", "SPY", "BTC-USD"} <= symbols
    aapl = client.get_open_position("AAPL")
    assert aapl.qty == "50000"
    assert aapl.side == "long"
    assert aapl.avg_entry_price == "230"
    assert aapl.market_value == "11500000"
    assert aapl.asset_class == AssetClass.US_EQUITY
    by_id = client.get_open_position(aapl.asset_id)
    assert by_id.symbol == "AAPL"
    with pytest.raises(APIError) as caught:
        demo.trading(live_server.url).get_open_position("AAPL")
    assert caught.value.status_code == 404


def test_close_position_submits_a_closing_market_order(demo, live_server):
    from alpaca.trading.requests import ClosePositionRequest

    client = demo.trading(live_server.url, "DEMO0005")
    order = client.close_position("MSFT", ClosePositionRequest(percentage="10"))
    assert order.side == "sell"
    assert order.qty == "5000"
    assert order.type == "market"
    assert Order.objects.get(pk=order.id).status == OrderStatus.PENDING_NEW


def test_assets_clock_and_calendar_parse(demo, live_server):
    client = demo.trading(live_server.url)
    assets = client.get_all_assets()
    classes = {a.asset_class for a in assets}
    assert classes == {AssetClass.US_EQUITY, AssetClass.US_OPTION, AssetClass.CRYPTO}
    crypto = client.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert {a.symbol for a in crypto} == {"BTC-USD", "ETH-USD"}
    aapl = client.get_asset("AAPL")
    assert aapl.price_increment == 0.01
    assert client.get_asset(aapl.id).symbol == "AAPL"

    clock = client.get_clock()
    assert clock.next_open > clock.timestamp or clock.is_open
    assert clock.next_close > clock.timestamp

    days = client.get_calendar(
        GetCalendarRequest(start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 29))
    )
    assert [d.date for d in days] == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 25),
        dt.date(2026, 11, 27),
    ]
    assert days[-1].close.time() == dt.time(13, 0)
    assert days[0].open.time() == dt.time(9, 30)
    assert days[0].close.time() == dt.time(16, 0)


def test_bonds_appear_in_positions_and_orders_only_when_asked_for(demo, live_server):
    maker = demo.accounts["DEMO0005"]
    bond = Instrument.objects.get(asset_class="bond", symbol="UST-4.25-2034")
    holding(maker, bond, Decimal(20), Decimal("98.50"))
    OrderFactory(account=maker, instrument=bond, side="sell", quantity=5, limit_price=99)
    client = demo.trading(live_server.url, "DEMO0005")

    # The SDK's models know no bonds: its own calls still parse, without them.
    assert bond.symbol not in {p.symbol for p in client.get_all_positions()}
    assert bond.symbol not in {o.symbol for o in client.get_orders()}

    key_id, secret = demo.keys["DEMO0005"]
    raw = requests.Session()
    raw.headers.update({"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret})
    positions = raw.get(f"{live_server.url}/v2/positions", params={"asset_class": "bond"}).json()
    assert [(p["symbol"], p["qty"], p["asset_class"]) for p in positions] == [
        (bond.symbol, "20", "bond")
    ]
    orders = raw.get(f"{live_server.url}/v2/orders", params={"asset_class": "bond"}).json()
    assert [(o["symbol"], o["qty"]) for o in orders] == [(bond.symbol, "5")]
    named = raw.get(f"{live_server.url}/v2/orders", params={"symbols": bond.symbol}).json()
    assert len(named) == 1
