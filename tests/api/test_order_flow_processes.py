"""Orders end to end: the alpaca-py SDK against a live server, with the real matcher and applier
processes between the order service and the database."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from alpaca.broker.requests import GetEventsRequest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from apps.clients.models import Account
from apps.compliance.models import AuditEvent
from apps.matching.commands import now_ns
from apps.matching.engine import SetSession
from apps.matching.transport import delete_prefix_keys, publish_commands
from apps.orders.models import Execution, Order
from apps.orders.services import order_approve_held
from apps.positions.models import CashBalance, Position
from apps.positions.selectors import ledger_reconciliation
from tests.api.conftest import Demo, seeded_demo
from tests.processes import ProcessManager, start_matching_stack, start_web, wait_until

# Tests read through their own (rolled back) transaction; everything they act on is committed by
# the module fixture, the server and the processes, and flushed when the module ends.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.processes,
    pytest.mark.xdist_group("order-flow-processes"),
]
D = Decimal
TRADER, MAKER, GRACE = "DEMO0001", "DEMO0005", "DEMO0003"


@pytest.fixture(scope="module")
def market(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[tuple]:
    """One seeded database and one matcher + applier for the whole module: starting processes
    and seeding per test would cost more than the tests. Tests use their own symbols or orders,
    and the module flushes what it committed at the end, like a TransactionTestCase."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock(), override_settings(ENGINE_STREAM_PREFIX=prefix):
        assert connection.settings_dict["NAME"].startswith("test"), (
            "refusing to seed a real database"
        )
        demo = seeded_demo()
        # The tests poll orders until they settle: far more often than a client would.
        manager = ProcessManager(
            tmp_path_factory.mktemp("stack"), API_KEY_THROTTLE_RATE="100000/min"
        )
        try:
            start_matching_stack(manager)
            url = start_web(manager)
            yield manager, demo, url
        finally:
            manager.stop_all()
            delete_prefix_keys(prefix)
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def stack(market) -> ProcessManager:
    return market[0]


@pytest.fixture
def server_url(market) -> str:
    return market[2]


@pytest.fixture
def demo(market) -> Demo:
    return market[1]


def final(client, order_id, *statuses: OrderStatus, timeout: float = 45.0):
    seen = []

    def reached():
        order = client.get_order_by_id(order_id)
        seen.append(order.status)
        return order if order.status in statuses else None

    try:
        return wait_until(reached, timeout=timeout, what=f"order {order_id} to become {statuses}")
    except AssertionError as timeout_error:
        row = Order.objects.get(pk=order_id)
        raise AssertionError(
            f"{timeout_error}; last seen {seen[-1:]}, reject {row.reject_reason!r}"
        ) from None


def committed(service, **kwargs):
    """Run a service on a connection of its own, so it commits (and publishes) for real: the
    test's own connection is inside a transaction that is rolled back."""
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(service(**kwargs)))
    worker.start()
    worker.join()
    assert outcome, "the service raised in its thread"
    return outcome[0]


def limit(symbol, qty, side, price, tif=TimeInForce.DAY, **extra):
    return LimitOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=tif, limit_price=price, **extra
    )


def test_two_accounts_cross_through_the_sdk(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)

    ask = maker.submit_order(limit("AAPL", 30, OrderSide.SELL, 230))
    bid = trader.submit_order(limit("AAPL", 20, OrderSide.BUY, 230.05, client_order_id="ada-1"))

    filled = final(trader, bid.id, OrderStatus.FILLED)
    assert (filled.filled_qty, filled.filled_avg_price) == ("20", "230")
    assert final(maker, ask.id, OrderStatus.PARTIALLY_FILLED).filled_qty == "20"
    assert trader.get_open_position("AAPL").qty == "20"
    assert trader.get_order_by_client_id("ada-1").id == bid.id
    assert Execution.objects.filter(order_id=bid.id).count() == 1
    assert ledger_reconciliation() == []


def test_cancel_and_replace_through_the_sdk(stack, demo, server_url):
    trader = demo.trading(server_url, TRADER)
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


def test_market_ioc_fok_and_stop_orders(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
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


def test_a_stop_limit_order_waits_for_its_trigger_then_trades_as_a_limit(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
    grace = demo.trading(server_url, GRACE)
    maker.submit_order(limit("QQQ", 20, OrderSide.BUY, 498))
    maker.submit_order(limit("QQQ", 10, OrderSide.SELL, 500))
    final(trader, trader.submit_order(limit("QQQ", 10, OrderSide.BUY, 500)).id, OrderStatus.FILLED)
    stop = trader.submit_order(
        StopLimitOrderRequest(
            symbol="QQQ",
            qty=10,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            stop_price=499,
            limit_price=497,
        )
    )
    assert final(trader, stop.id, OrderStatus.NEW).filled_qty == "0"  # the last trade is 500

    maker.submit_order(limit("QQQ", 1, OrderSide.SELL, 499))
    final(grace, grace.submit_order(limit("QQQ", 1, OrderSide.BUY, 499)).id, OrderStatus.FILLED)

    # A trade at 499 triggers it; as a limit at 497 it sells into the best bid, 498.
    assert final(trader, stop.id, OrderStatus.FILLED).filled_avg_price == "498"


def sessions(symbol: str, *states: str) -> None:
    """What the scheduler sends from the calendar, sent now for one symbol."""
    publish_commands(0, [SetSession(ts_ns=now_ns(), symbol=symbol, state=s) for s in states])


def test_opening_auction_orders_cross_at_the_auction_price(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
    sessions("AMZN", "pre_close", "closing_auction", "closed", "pre_open")  # the next morning
    ask = maker.submit_order(limit("AMZN", 40, OrderSide.SELL, 189.5, tif=TimeInForce.OPG))
    bid = trader.submit_order(limit("AMZN", 25, OrderSide.BUY, 191, tif=TimeInForce.OPG))
    final(trader, bid.id, OrderStatus.NEW)  # a call: crossing orders rest until the uncross

    sessions("AMZN", "opening_auction", "continuous")

    # Both order prices execute 25 with the same imbalance: the one nearer the reference (190)
    # is the auction price.
    assert final(trader, bid.id, OrderStatus.FILLED).filled_avg_price == "189.5"
    rest = final(maker, ask.id, OrderStatus.EXPIRED)  # on-open only: the rest does not stay
    assert rest.filled_qty == "25"


def test_closing_auction_orders_wait_for_the_close(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
    ask = maker.submit_order(limit("GOOGL", 30, OrderSide.SELL, 169.8, tif=TimeInForce.CLS))
    bid = trader.submit_order(limit("GOOGL", 30, OrderSide.BUY, 171, tif=TimeInForce.CLS))
    assert final(trader, bid.id, OrderStatus.NEW).filled_qty == "0"  # held for the close

    sessions("GOOGL", "pre_close", "closing_auction", "closed")

    assert final(trader, bid.id, OrderStatus.FILLED).filled_avg_price == "169.8"
    assert final(maker, ask.id, OrderStatus.FILLED).filled_qty == "30"


def test_close_all_positions_sells_every_holding_back(stack, demo, server_url):
    closer, maker = demo.trading(server_url, "DEMO0002"), demo.trading(server_url, MAKER)
    for symbol, price in (("META", 560), ("TSLA", 250)):
        maker.submit_order(limit(symbol, 10, OrderSide.SELL, price))
        final(
            closer,
            closer.submit_order(limit(symbol, 4, OrderSide.BUY, price)).id,
            OrderStatus.FILLED,
        )
        maker.submit_order(limit(symbol, 10, OrderSide.BUY, price - 1))  # a bid to sell into

    closing = closer.close_all_positions(cancel_orders=True)

    assert sorted(c.symbol for c in closing) == ["META", "TSLA"]
    for response in closing:
        sold = final(closer, response.order_id, OrderStatus.FILLED)
        assert (sold.side, sold.qty) == (OrderSide.SELL, "4")
    assert closer.get_all_positions() == []


def test_a_held_order_fills_after_a_risk_manager_approves_it(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
    maker.submit_order(limit("KO", 100, OrderSide.SELL, 65))
    held = trader.submit_order(limit("KO", 10, OrderSide.BUY, 68.5))  # 5.4% through the reference
    assert held.status == OrderStatus.HELD

    committed(order_approve_held, order=Order.objects.get(pk=held.id), actor=None)

    assert final(trader, held.id, OrderStatus.FILLED).filled_avg_price == "65"


def test_risk_rejections_reach_the_sdk_with_their_code(stack, demo, server_url):
    trader = demo.trading(server_url, GRACE)

    with pytest.raises(APIError) as refused:
        trader.submit_order(limit("AAPL", 1000, OrderSide.BUY, 230))

    assert "insufficient" in str(refused.value).lower()
    latest = Order.objects.filter(account__number=GRACE).latest("created_at")
    assert latest.reject_reason == "insufficient_buying_power"


def test_the_applier_killed_mid_stream_double_counts_nothing(stack, demo, server_url):
    trader, maker = demo.trading(server_url, TRADER), demo.trading(server_url, MAKER)
    maker.submit_order(limit("JPM", 400, OrderSide.SELL, 210))
    bids = []
    for i in range(20):
        if i == 8:
            stack.kill("applier")
        bids.append(trader.submit_order(limit("JPM", 10, OrderSide.BUY, 210)))
        time.sleep(0.1)  # under the account's order-rate limit (20 a second)
    stack.start("applier", "run_applier", "--shard", "0")

    for bid in bids:
        final(trader, bid.id, OrderStatus.FILLED)
    assert Execution.objects.filter(account__number=TRADER, instrument__symbol="JPM").count() == 20
    assert Position.objects.get(account__number=TRADER, instrument__symbol="JPM").quantity == D(200)
    assert ledger_reconciliation() == []


def test_many_concurrent_orders_keep_every_invariant(stack, demo, server_url):
    clients = {n: demo.trading(server_url, n) for n in (TRADER, GRACE, MAKER)}
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
        xom_orders = Order.objects.filter(account=account, instrument__symbol="XOM")
        assert filled == sum(o.filled_quantity for o in xom_orders)


def test_a_partner_replays_recorded_trade_events_and_resumes_after_an_event_id(
    stack, demo, server_url
):
    partner, maker = demo.broker(server_url), demo.trading(server_url, MAKER)
    account = demo.accounts["DEMO0006"]  # opened by the partner
    maker.submit_order(limit("SPY", 4, OrderSide.SELL, 580))
    bid = partner.submit_order_for_account(account.pk, limit("SPY", 4, OrderSide.BUY, 580))
    final(demo.trading(server_url, "DEMO0006"), bid.id, OrderStatus.FILLED)
    recorded = list(
        AuditEvent.objects.filter(object_id=str(bid.id), changes__has_key="update")
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert len(recorded) == 2  # accepted, filled

    def events(**window) -> list[dict]:
        """The SDK's stream of the window (it ends at until_id), this order's events."""
        every = [json.loads(e) for e in partner.get_trade_events(GetEventsRequest(**window))]
        return [e for e in every if e["order"]["id"] == str(bid.id)]

    replayed = events(since_id=recorded[0] - 1, until_id=recorded[-1])
    assert [(e["event"], e["event_id"]) for e in replayed] == [
        ("new", recorded[0]),
        ("fill", recorded[1]),
    ]
    fill = replayed[-1]
    execution = Execution.objects.get(order_id=bid.id)
    assert (fill["price"], fill["qty"], fill["position_qty"]) == ("580", "4", "4")
    assert fill["execution_id"] == str(execution.pk)
    # Each with the order as it was at its event, not as it is now.
    assert [(e["order"]["status"], e["order"]["filled_qty"]) for e in replayed] == [
        ("new", "0"),
        ("filled", "4"),
    ]

    resumed = events(since_id=recorded[0], until_id=recorded[-1])  # after the last one seen
    assert [(e["event"], e["event_id"]) for e in resumed] == [("fill", recorded[-1])]


def test_a_partners_live_trade_events_show_the_order_as_it_was_at_each_event(
    stack, demo, server_url
):
    partner, maker = demo.broker(server_url), demo.trading(server_url, MAKER)
    account = demo.accounts["DEMO0006"]  # opened by the partner
    stream = requests.get(
        f"{server_url}/v1/events/trades?account_id={account.pk}",
        auth=demo.keys["partner"],
        stream=True,
        timeout=30,
        headers={"Accept": "text/event-stream"},
    )
    with stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ": connected"  # the stream has joined the account's updates
        # A book no other test of the module trades in: the ask is the only one.
        maker.submit_order(limit("ETH-USD", 0.01, OrderSide.SELL, 3000, TimeInForce.GTC))
        bid = partner.submit_order_for_account(
            account.pk, limit("ETH-USD", 0.01, OrderSide.BUY, 3000, TimeInForce.GTC)
        )
        bids_events = []
        for line in lines:  # live only: it ends when the client leaves
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                if event["order"]["id"] == str(bid.id):
                    bids_events.append(event)
            if len(bids_events) == 2:
                break
    # The buy was accepted and filled in one applier batch, most often: its `new` is told after
    # the fill committed, and still shows the order as it was when it was accepted.
    assert [(e["event"], e["order"]["status"], e["order"]["filled_qty"]) for e in bids_events] == [
        ("new", "new", "0"),
        ("fill", "filled", "0.01"),
    ]
