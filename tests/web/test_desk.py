"""The trader's desk: pages, the htmx ticket through the order service, cancel and replace,
account isolation and query budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.marketdata.models import Bar as MinuteBar
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.orders.services import order_submit
from tests import processes
from tests.clients.factories import ClientFactory, ClientUserFactory, UserFactory
from tests.instruments.factories import EquityFactory
from tests.trading import funded_account, holding

pytestmark = pytest.mark.django_db
D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def aapl(market):
    instrument = EquityFactory(symbol="AAPL", name="Apple Inc.", reference_price=D("230.00"))
    market.list(instrument)
    return instrument


@pytest.fixture
def trader():
    """A trader acting for one client with a funded cash account."""
    user = UserFactory(username="desk-trader")
    client = ClientFactory()
    ClientUserFactory(client=client, user=user, can_trade=True)
    account = funded_account(cash=D(50_000), client=client)
    return user, account


@pytest.fixture
def browser(trader) -> Client:
    client = Client()
    client.force_login(trader[0])
    return client


def ticket(account, **fields) -> dict:
    data = {
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "qty": "10",
        "limit_price": "229.50",
        "client_order_id": f"web-test-{len(fields)}-{fields.get('qty', '10')}",
    }
    data.update({k: str(v) for k, v in fields.items()})
    return data


def test_desk_redirects_to_the_first_tradable_account(browser, trader):
    response = browser.get(reverse("desk"))
    assert response.status_code == 302
    assert response["Location"] == reverse("desk-account", args=[trader[1].pk])


def test_desk_renders_the_ticket_watchlist_blotters_and_socket_url(browser, trader, aapl):
    account = trader[1]
    response = browser.get(reverse("desk-account", args=[account.pk]) + "?symbol=AAPL")
    assert response.status_code == 200
    html = response.content.decode()
    for fragment in (
        'id="ticket"',
        'id="depth"',
        'id="tape"',
        'id="chart"',
        'id="open-orders"',
        'id="positions"',
        'id="executions"',
        'id="activity"',
        'data-symbol="AAPL"',
        'data-ws-base="ws://testserver:',
        "vendor/htmx/htmx.min.js",
        "vendor/lightweight-charts/lightweight-charts.standalone.production.mjs",
        "js/desk.js",
        "X-CSRFToken",
    ):
        assert fragment in html, fragment
    # The ticket shows the instrument's tick and lot, and every order type and time in force.
    assert "<dt>Tick</dt><dd>0.01</dd>" in html
    assert "<dt>Lot</dt><dd>1</dd>" in html
    for value in ("market", "limit", "stop", "stop_limit", "day", "gtc", "gtd", "ioc", "fok"):
        assert f'value="{value}"' in html
    assert 'value="opg"' in html and 'value="cls"' in html
    assert 'name="display_qty"' in html and 'name="hidden"' in html and 'name="post_only"' in html
    # Labels on every input of the ticket.
    for field in ("id_qty", "id_limit_price", "id_stop_price", "id_expire_at", "id_display_qty"):
        assert f'for="{field}"' in html


def test_websocket_url_comes_from_the_setting_when_set(browser, trader, settings):
    settings.WEBSOCKET_BASE_URL = "wss://desk.example.com"
    response = browser.get(reverse("desk-account", args=[trader[1].pk]))
    assert 'data-ws-base="wss://desk.example.com"' in response.content.decode()


def test_desk_refuses_other_users_accounts(browser, aapl):
    stranger = funded_account(cash=D(1_000))
    order = Order.objects.create(
        account=stranger,
        instrument=aapl,
        client_order_id="x",
        side="buy",
        order_type="limit",
        time_in_force="day",
        quantity=D(1),
        limit_price=D(230),
        source="web",
    )
    for url in (
        reverse("desk-account", args=[stranger.pk]),
        reverse("desk-ticket", args=[stranger.pk]),
        reverse("desk-orders", args=[stranger.pk]),
        reverse("desk-executions", args=[stranger.pk]),
        reverse("desk-positions", args=[stranger.pk]),
        reverse("desk-activity", args=[stranger.pk]),
        reverse("desk-order-replace", args=[stranger.pk, order.pk]),
    ):
        assert browser.get(url).status_code == 404, url
    response = browser.post(reverse("desk-order-cancel", args=[stranger.pk, order.pk]))
    assert response.status_code == 404
    response = browser.post(reverse("desk-ticket", args=[stranger.pk]), ticket(stranger))
    assert response.status_code == 404
    assert Order.objects.filter(account=stranger).count() == 1


def test_an_order_of_another_account_is_not_found_through_my_account(browser, trader, aapl):
    other = funded_account(cash=D(1_000))
    order = Order.objects.create(
        account=other,
        instrument=aapl,
        client_order_id="y",
        side="buy",
        order_type="limit",
        time_in_force="day",
        quantity=D(1),
        limit_price=D(230),
        source="web",
    )
    response = browser.post(reverse("desk-order-cancel", args=[trader[1].pk, order.pk]))
    assert response.status_code == 404


def test_a_viewer_without_trading_rights_gets_no_desk(aapl):
    user = UserFactory(username="viewer")
    client = ClientFactory()
    ClientUserFactory(client=client, user=user, can_trade=False)
    account = funded_account(cash=D(1_000), client=client)
    browser = Client()
    browser.force_login(user)
    assert browser.get(reverse("desk-account", args=[account.pk])).status_code == 404
    assert "no account you may trade" in browser.get(reverse("desk")).content.decode()


def test_anonymous_is_sent_to_sign_in(client, trader):
    response = client.get(reverse("desk-account", args=[trader[1].pk]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_ticket_submit_creates_an_order_through_the_service(
    browser, trader, aapl, market, django_capture_on_commit_callbacks
):
    account = trader[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("desk-ticket", args=[account.pk]), ticket(account), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "orders-changed"
    order = Order.objects.get(account=account)
    assert (order.side, order.order_type, order.quantity, order.limit_price, order.source) == (
        "buy",
        "limit",
        D(10),
        D("229.50"),
        "web",
    )
    assert order.status == OrderStatus.PENDING_NEW
    assert "Order sent" in response.content.decode()
    market.step()  # the matcher accepted it: it rests in the book
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    blotter = browser.get(reverse("desk-orders", args=[account.pk]), **HTMX).content.decode()
    assert str(order.pk) in blotter and "229.50" in blotter


def test_the_same_ticket_submitted_twice_places_one_order(browser, trader, aapl):
    account = trader[1]
    data = ticket(account)
    browser.post(reverse("desk-ticket", args=[account.pk]), data, **HTMX)
    browser.post(reverse("desk-ticket", args=[account.pk]), data, **HTMX)
    assert Order.objects.filter(account=account).count() == 1


def test_every_order_shape_reaches_the_service(browser, trader, aapl):
    account = trader[1]
    url = reverse("desk-ticket", args=[account.pk])
    shapes = [
        {"type": "market", "limit_price": "", "time_in_force": "ioc"},
        {"type": "stop", "limit_price": "", "stop_price": "240.00", "time_in_force": "gtc"},
        {"type": "stop_limit", "stop_price": "240.00", "limit_price": "241.00"},
        {"time_in_force": "gtd", "expire_at": "2099-01-02T15:30"},
        {"display_qty": "5", "post_only": "on"},
        {"hidden": "on", "time_in_force": "fok"},
        {"time_in_force": "opg"},
        {"time_in_force": "cls", "side": "buy"},
    ]
    for n, shape in enumerate(shapes):
        data = ticket(account, **shape) | {"client_order_id": f"shape-{n}"}
        response = browser.post(url, data, **HTMX)
        assert response.status_code == 200, (shape, response.content.decode())
    orders = {o.client_order_id: o for o in Order.objects.filter(account=account)}
    assert orders["shape-0"].order_type == "market"
    assert orders["shape-1"].stop_price == D(240)
    assert orders["shape-3"].expire_at.isoformat() == "2099-01-02T15:30:00+00:00"
    assert (orders["shape-4"].display_quantity, orders["shape-4"].post_only) == (D(5), True)
    assert orders["shape-5"].hidden is True
    assert {o.time_in_force for o in orders.values()} >= {"ioc", "gtc", "gtd", "fok", "opg", "cls"}


def test_insufficient_buying_power_is_shown_as_a_form_error(browser, trader, aapl):
    account = trader[1]
    response = browser.post(
        reverse("desk-ticket", args=[account.pk]),
        ticket(account, qty="1000", limit_price="230.00"),
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Insufficient buying power" in html
    assert 'role="alert"' in html
    # The refusal is recorded (compliance wants every attempt) and the blotter is told.
    assert response["HX-Trigger"] == "orders-changed"
    assert Order.objects.get(account=account).reject_reason == "insufficient_buying_power"


def test_a_price_off_the_tick_grid_is_shown_next_to_the_limit_price(browser, trader, aapl):
    account = trader[1]
    response = browser.post(
        reverse("desk-ticket", args=[account.pk]),
        ticket(account, limit_price="229.505"),
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_limit_price_error"' in html
    assert "prices move in ticks of 0.01" in html
    assert 'aria-invalid="true"' in html
    assert not Order.objects.filter(account=account).exists()
    # The typed values survive so the trader can correct the one field.
    assert 'value="229.505"' in html


def test_a_quantity_off_the_lot_grid_and_a_missing_limit_price_are_field_errors(
    browser, trader, aapl
):
    account = trader[1]
    url = reverse("desk-ticket", args=[account.pk])
    html = browser.post(url, ticket(account, qty="1.5"), **HTMX).content.decode()
    assert 'id="id_qty_error"' in html and "trades in lots of 1" in html
    html = browser.post(url, ticket(account, limit_price=""), **HTMX).content.decode()
    assert 'id="id_limit_price_error"' in html and "needs a limit price" in html


def test_an_unknown_symbol_is_a_form_error(browser, trader, aapl):
    account = trader[1]
    response = browser.post(
        reverse("desk-ticket", args=[account.pk]), ticket(account, symbol="NOPE"), **HTMX
    )
    assert response.status_code == 422
    assert "No instrument NOPE" in response.content.decode()


def test_cancel_from_the_blotter(browser, trader, aapl, market, django_capture_on_commit_callbacks):
    account = trader[1]
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("desk-ticket", args=[account.pk]), ticket(account), **HTMX)
    market.step()
    order = Order.objects.get(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("desk-order-cancel", args=[account.pk, order.pk]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "orders-changed"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_CANCEL
    market.step()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    blotter = browser.get(reverse("desk-orders", args=[account.pk]), **HTMX).content.decode()
    assert "No open orders" in blotter


def test_cancel_of_a_finished_order_shows_the_service_refusal(browser, trader, aapl, market):
    account = trader[1]
    browser.post(reverse("desk-ticket", args=[account.pk]), ticket(account, qty="1000"), **HTMX)
    rejected = Order.objects.get(account=account)
    response = browser.post(reverse("desk-order-cancel", args=[account.pk, rejected.pk]), **HTMX)
    assert response.status_code == 409
    assert "cannot be canceled" in response.content.decode()


def test_replace_from_the_blotter(
    browser, trader, aapl, market, django_capture_on_commit_callbacks
):
    account = trader[1]
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("desk-ticket", args=[account.pk]), ticket(account), **HTMX)
    market.step()
    order = Order.objects.get(account=account)
    url = reverse("desk-order-replace", args=[account.pk, order.pk])
    form = browser.get(url, **HTMX).content.decode()
    assert 'name="qty"' in form and 'value="229.50"' in form
    # A refusal from the service: a price off the tick grid, next to the field.
    response = browser.post(url, {"qty": "10", "limit_price": "229.001"}, **HTMX)
    assert response.status_code == 422
    assert 'id="id_limit_price_error"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(url, {"qty": "12", "limit_price": "229.40"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "orders-changed"
    market.step()
    replacement = Order.objects.get(replaces=order)
    assert (replacement.quantity, replacement.limit_price, replacement.status) == (
        D(12),
        D("229.40"),
        OrderStatus.NEW,
    )


def test_fills_show_in_positions_executions_and_activity(
    browser, trader, aapl, market, submit, django_capture_on_commit_callbacks
):
    account = trader[1]
    seller = funded_account(cash=D(1_000))
    holding(seller, aapl, D(100), D(200))
    submit(
        order_submit,
        account=seller,
        instrument=aapl,
        side="sell",
        order_type="limit",
        time_in_force="day",
        quantity=D(10),
        limit_price=D("231.00"),
    )
    market.step()
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            reverse("desk-ticket", args=[account.pk]),
            ticket(account, limit_price="231.00"),
            **HTMX,
        )
    market.step()
    positions = browser.get(reverse("desk-positions", args=[account.pk])).content.decode()
    assert 'data-symbol="AAPL"' in positions and 'data-qty="10"' in positions
    assert "231.00" in positions  # marked at the last trade
    executions = browser.get(reverse("desk-executions", args=[account.pk])).content.decode()
    assert "231.00" in executions and "Buy" in executions
    activity = browser.get(reverse("desk-activity", args=[account.pk])).content.decode()
    assert "Trade" in activity and "Deposit" in activity
    bars = browser.get(reverse("desk-bars", args=["AAPL"])).json()
    assert bars["symbol"] == "AAPL"
    assert [(b["o"], b["c"], b["v"]) for b in bars["bars"]] == [("231.00", "231.00", "10")]


def test_chart_bars_come_from_the_market_data_minute_bars(browser, aapl):
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    MinuteBar.objects.create(
        instrument=aapl,
        symbol="AAPL",
        start=start,
        open=D("230.00"),
        high=D("231.50"),
        low=D("229.75"),
        close=D("231.00"),
        volume=D(300),
        notional=D("69150"),
        trade_count=3,
        vwap=D("230.50"),
        first_seq=1,
        last_seq=3,
    )
    bars = browser.get(reverse("desk-bars", args=["AAPL"])).json()["bars"]
    assert bars == [
        {
            "t": int(start.timestamp()),
            "o": "230.00",
            "h": "231.50",
            "l": "229.75",
            "c": "231.00",
            "v": "300",
        }
    ]


def test_the_account_switcher_lists_every_tradable_account(browser, trader):
    _user, account = trader
    second = funded_account(cash=D(10), client=account.client, number="SECOND01")
    html = browser.get(reverse("desk-account", args=[account.pk])).content.decode()
    assert 'id="account-switch"' in html
    assert reverse("desk-account", args=[second.pk]) in html
    assert browser.get(reverse("desk-account", args=[second.pk])).status_code == 200


def test_instrument_search_and_watchlist(browser, trader, aapl):
    account = trader[1]
    EquityFactory(symbol="MSFT", name="Microsoft Corporation")
    html = browser.get(reverse("desk-search", args=[account.pk]), {"q": "micro"}).content.decode()
    assert "MSFT" in html and "AAPL" not in html
    response = browser.post(reverse("desk-watchlist", args=[account.pk]), {"add": "MSFT"})
    assert 'data-symbol="MSFT"' in response.content.decode()
    assert "MSFT" in response["HX-Trigger"]
    response = browser.post(reverse("desk-watchlist", args=[account.pk]), {"remove": "MSFT"})
    assert 'data-symbol="MSFT"' not in response.content.decode()


def _busy_account(account, aapl, n: int) -> None:
    for i in range(n):
        instrument = aapl if i % 2 else EquityFactory(symbol=f"Q{i}")
        Order.objects.create(
            account=account,
            instrument=instrument,
            client_order_id=f"busy-{i}",
            side="buy",
            order_type="limit",
            time_in_force="day",
            quantity=D(1),
            limit_price=D(100),
            source="web",
            status=OrderStatus.NEW,
        )


def test_desk_query_budget_does_not_grow_with_orders(
    browser, trader, aapl, django_assert_max_num_queries
):
    account = trader[1]
    _busy_account(account, aapl, 30)
    url = reverse("desk-account", args=[account.pk])
    browser.get(url)  # warm the session
    # session, user, accounts, watchlist (its names, instruments, last trades), cash, positions
    # (rows, last trades), open orders, executions, activity: flat however many orders there are.
    with django_assert_max_num_queries(12):
        assert browser.get(url + "?symbol=AAPL").status_code == 200


@pytest.mark.parametrize(
    ("name", "budget"),
    [("desk-orders", 5), ("desk-executions", 5), ("desk-positions", 6), ("desk-activity", 5)],
)
def test_blotter_query_budgets(browser, trader, aapl, django_assert_max_num_queries, name, budget):
    account = trader[1]
    _busy_account(account, aapl, 30)
    with django_assert_max_num_queries(budget):
        assert browser.get(reverse(name, args=[account.pk]), **HTMX).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_ticket_stuck_behind_a_lock_gets_a_busy_page_and_changes_nothing(browser, trader, aapl):
    account = trader[1]
    with psycopg.connect(
        processes.test_database_url()
    ) as holder:  # another writer holds the cash row
        holder.execute(
            "SELECT 1 FROM positions_cashbalance WHERE account_id = %s FOR UPDATE", [account.pk]
        )
        with connection.cursor() as cursor:  # the web server's timeout, shortened
            cursor.execute("SET statement_timeout = 300")
        try:
            response = browser.post(
                reverse("desk-ticket", args=[account.pk]), ticket(account), **HTMX
            )
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "nothing was changed" in response.content.decode()
    assert not Order.objects.filter(account=account).exists()
