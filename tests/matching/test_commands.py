import datetime as dt
from decimal import Decimal

import pytest

from apps.matching.commands import (
    cancel_command,
    datetime_to_ns,
    mass_cancel_command,
    new_order_command,
    ns_to_datetime,
    price_from_ticks,
    price_to_ticks,
    quantity_from_lots,
    quantity_to_lots,
    replace_command,
)
from apps.matching.engine import Cancel, MassCancel, NewOrder, Replace, command_from_wire
from apps.matching.transport import pack, unpack
from apps.orders.choices import OrderType, SelfTradePrevention, Side, TimeInForce
from tests.instruments.factories import CryptoFactory, EquityFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_prices_and_quantities_convert_exactly_both_ways():
    crypto = CryptoFactory.build(tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"))
    assert price_to_ticks(crypto, Decimal("64123.45")) == 6_412_345
    assert quantity_to_lots(crypto, Decimal("0.0123")) == 123
    assert price_from_ticks(crypto, 6_412_345) == Decimal("64123.45")
    assert quantity_from_lots(crypto, 123) == Decimal("0.0123")
    assert price_from_ticks(crypto, None) is None


def test_values_off_the_grid_are_refused_not_rounded():
    equity = EquityFactory.build(tick_size=Decimal("0.01"), lot_size=Decimal(1))
    with pytest.raises(ValueError):
        price_to_ticks(equity, Decimal("100.005"))
    with pytest.raises(ValueError):
        quantity_to_lots(equity, Decimal("1.5"))


def test_datetimes_become_exact_nanoseconds_and_naive_ones_are_refused():
    at = dt.datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=dt.UTC)
    ns = datetime_to_ns(at)
    assert ns == 1_772_461_800_123_456_000
    assert ns_to_datetime(ns) == at
    with pytest.raises(ValueError):
        datetime_to_ns(dt.datetime(2026, 3, 2))  # noqa: DTZ001


def test_new_order_command_maps_every_field_and_survives_the_wire():
    expire = dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.UTC)
    order = OrderFactory(
        instrument=EquityFactory(symbol="ACME"),
        side=Side.SELL,
        order_type=OrderType.STOP_LIMIT,
        time_in_force=TimeInForce.GTD,
        quantity=Decimal(300),
        limit_price=Decimal("99.50"),
        stop_price=Decimal("99.75"),
        display_quantity=Decimal(100),
        expire_at=expire,
        self_trade_prevention=SelfTradePrevention.DECREMENT,
    )
    cmd = new_order_command(order, ts_ns=42)
    assert isinstance(cmd, NewOrder)
    assert cmd.to_dict() == {
        "kind": "new",
        "ts_ns": 42,
        "symbol": "ACME",
        "order_id": str(order.id),
        "account": str(order.account_id),
        "side": "sell",
        "order_type": "stop_limit",
        "tif": "gtd",
        "qty": 300,
        "price": 9950,
        "stop_price": 9975,
        "display_qty": 100,
        "hidden": False,
        "post_only": False,
        "expire_ns": datetime_to_ns(expire),
        "stp_mode": "decrement",
    }
    assert command_from_wire(unpack(pack(cmd))) == cmd


def test_market_order_sends_no_price_even_if_the_row_has_one():
    order = OrderFactory(order_type=OrderType.MARKET, limit_price=Decimal("99.50"))
    cmd = new_order_command(order, ts_ns=1)
    assert cmd.price is None and cmd.stop_price is None and cmd.display_qty == 0


def test_cancel_replace_and_mass_cancel_commands():
    order = OrderFactory(quantity=Decimal(100), limit_price=Decimal("10.00"))
    symbol = order.instrument.symbol
    assert cancel_command(order, ts_ns=5) == Cancel(
        ts_ns=5, symbol=symbol, order_id=str(order.id), account=str(order.account_id)
    )
    rep = replace_command(
        order,
        new_order_id="n-1",
        quantity=Decimal(150),
        limit_price=Decimal("10.05"),
        stop_price=None,
        ts_ns=6,
    )
    assert rep == Replace(
        ts_ns=6,
        symbol=symbol,
        order_id=str(order.id),
        account=str(order.account_id),
        qty=150,
        price=1005,
        new_order_id="n-1",
        stop_price=None,
    )
    assert mass_cancel_command(ts_ns=7, account=order.account) == MassCancel(
        ts_ns=7, symbol=None, account=str(order.account_id)
    )
    assert mass_cancel_command(ts_ns=8, symbol=symbol) == MassCancel(
        ts_ns=8, symbol=symbol, account=None
    )
