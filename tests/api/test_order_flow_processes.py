"""Orders end to end: the alpaca-py SDK against a live server, with the real matcher and applier
processes between the order service and the database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopOrderRequest,
)

from apps.clients.models import Account
from apps.orders.models import Execution, Order
from apps.orders.services import order_approve_held
from apps.positions.models import CashBalance, Position
from apps.positions.selectors import ledger_reconciliation
from tests.processes import ProcessManager, wait_until

pytestmark = [pytest.mark.processes, pytest.mark.xdist_group("processes")]
D = Decimal
TRADER, MAKER, GRACE = "DEMO0001", "DEMO0005", "DEMO0003"


@pytest.fixture
def stack(demo, live_server, stream_prefix, tmp_path) -> Iterator[ProcessManager]:
    """The matcher of shard 0 (books open for continuous trading) and the applier."""
    manager = ProcessManager(tmp_path)
    manager.start("matcher", "run_matcher", "--shard", "0", "--session", "continuous")
    manager.start("applier", "run_applier", "--shard", "0")
    yield manager
    manager.stop_all()


def final(client, order_id, *statuses: OrderStatus, timeout: float = 15.0):
    def reached():
        order = client.get_order_by_id(order_id)
        return order if order.status in statuses else None

    return wait_until(reached, timeout=timeout, what=f"order {order_id} to become {statuses}")


def limit(symbol, qty, side, price, tif=TimeInForce.DAY, **extra):
    return LimitOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=tif, limit_price=price, **extra
    )


def test_two_accounts_cross_through_the_sdk(stack, demo, live_server):
    trader, maker = demo.trading(live_server.url, TRADER), demo.trading(live_server.url, MAKER)

    ask = maker.submit_order(limit("AAPL", 30, OrderSide.SELL, 230))
    bid = trader.submit_order(limit("AAPL", 20, OrderSide.BUY, 230.05, client_order_id="ada-1"))

    filled = final(trader, bid.id, OrderStatus.FILLED)
    assert (filled.filled_qty, filled.filled_avg_price) == ("20", "230")
    assert final(maker, ask.id, OrderStatus.PARTIALLY_FILLED).filled_qty == "20"
    assert trader.get_open_position("AAPL").qty == "20"
    assert trader.get_order_by_client_id("ada-1").id == bid.id
    assert Execution.objects.filter(order_id=bid.id).count() == 1
    assert ledger_reconciliation() == []


def test_cancel_and_replace_through_the_sdk(stack, demo, live_server):
    trader = demo.trading(live_server.url, TRADER)
    resting = trader.submit_order(limit("MSFT", 5, OrderSide.BUY, 410))
    final(trader, resting.id, OrderStatus.NEW)

    replacement = trader.replace_order_by_id(
        resting.id, ReplaceOrderRequest(qty=3, limit_price=411)
    )
    final(trader, resting.id, OrderStatus.REPLACED)
    assert final(trader, replacement.id, OrderStatus.NEW).limit_price == "411"

    trader.cancel_order_by_id(replacement.id)
    final(trader, replacement.id, OrderStatus.CANCELED)
    assert CashBalance.objects.get(account__number=TRADER).reserved == 0


def test_market_ioc_fok_and_stop_orders(stack, demo, live_server):
    trader, maker = demo.trading(live_server.url, TRADER), demo.trading(live_server.url, MAKER)
    maker.submit_order(limit("NVDA", 50, OrderSide.SELL, 140))
    final(maker, maker.get_orders()[0].id, OrderStatus.NEW)

    market = trader.submit_order(
        MarketOrderRequest(symbol="NVDA", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert final(trader, market.id, OrderStatus.FILLED).filled_qty == "10"

    fok = trader.submit_order(limit("NVDA", 100, OrderSide.BUY, 140, tif=TimeInForce.FOK))
    assert final(trader, fok.id, OrderStatus.CANCELED).filled_qty == "0"  # 40 left: cannot fill all

    ioc = trader.submit_order(limit("NVDA", 60, OrderSide.BUY, 140, tif=TimeInForce.IOC))
    assert final(trader, ioc.id, OrderStatus.CANCELED).filled_qty == "40"  # the rest is canceled

    stop = trader.submit_order(
        StopOrderRequest(
            symbol="NVDA", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, stop_price=120
        )
    )
    assert final(trader, stop.id, OrderStatus.NEW).stop_price == "120"


def test_a_held_order_fills_after_a_risk_manager_approves_it(stack, demo, live_server):
    trader, maker = demo.trading(live_server.url, TRADER), demo.trading(live_server.url, MAKER)
    maker.submit_order(limit("KO", 100, OrderSide.SELL, 65))
    held = trader.submit_order(limit("KO", 10, OrderSide.BUY, 68.5))  # 5.4% through the reference
    assert held.status == OrderStatus.HELD

    order_approve_held(order=Order.objects.get(pk=held.id), actor=None)

    assert final(trader, held.id, OrderStatus.FILLED).filled_avg_price == "65"


def test_risk_rejections_reach_the_sdk_with_their_code(stack, demo, live_server):
    trader = demo.trading(live_server.url, GRACE)

    with pytest.raises(APIError) as refused:
        trader.submit_order(limit("AAPL", 1000, OrderSide.BUY, 230))

    assert "insufficient" in str(refused.value).lower()
    assert Order.objects.get(account__number=GRACE).reject_reason == "insufficient_buying_power"


def test_the_applier_killed_mid_stream_double_counts_nothing(stack, demo, live_server):
    trader, maker = demo.trading(live_server.url, TRADER), demo.trading(live_server.url, MAKER)
    maker.submit_order(limit("JPM", 400, OrderSide.SELL, 210))
    bids = []
    for i in range(20):
        if i == 8:
            stack.kill("applier")
        bids.append(trader.submit_order(limit("JPM", 10, OrderSide.BUY, 210)))
    stack.start("applier", "run_applier", "--shard", "0")

    for bid in bids:
        final(trader, bid.id, OrderStatus.FILLED)
    assert Execution.objects.filter(account__number=TRADER, instrument__symbol="JPM").count() == 20
    assert Position.objects.get(account__number=TRADER, instrument__symbol="JPM").quantity == D(200)
    assert ledger_reconciliation() == []


def test_many_concurrent_orders_keep_every_invariant(stack, demo, live_server):
    clients = {n: demo.trading(live_server.url, n) for n in (TRADER, GRACE, MAKER)}
    errors: list[BaseException] = []

    def trade(number: str, side: OrderSide, price: float) -> None:
        try:
            for _ in range(15):
                clients[number].submit_order(limit("XOM", 3, side, price))
        except APIError:
            pass  # a refusal (rate, buying power) is a correct outcome; it must leave no trace
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=trade, args=(TRADER, OrderSide.BUY, 115.05)),
        threading.Thread(target=trade, args=(GRACE, OrderSide.BUY, 115.05)),
        threading.Thread(target=trade, args=(MAKER, OrderSide.SELL, 115)),
        threading.Thread(target=trade, args=(MAKER, OrderSide.SELL, 115.05)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    def settled_down() -> bool:
        return not Order.objects.filter(status__in=["pending_new", "pending_cancel"]).exists()

    wait_until(settled_down, timeout=20, what="every order to be acknowledged")
    assert ledger_reconciliation() == []
    for account in Account.objects.filter(number__in=clients):
        cash = CashBalance.objects.get(account=account, currency="USD")
        open_reserved = sum(o.reserved_amount for o in Order.objects.filter(account=account))
        assert cash.reserved == open_reserved >= 0
        filled = sum(
            e.quantity for e in Execution.objects.filter(account=account, instrument__symbol="XOM")
        )
        assert filled == sum(
            o.filled_quantity for o in Order.objects.filter(account=account, replaces__isnull=True)
        )
