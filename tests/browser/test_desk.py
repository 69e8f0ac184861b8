"""The desk in headless chromium against real servers: quotes move without a reload, a limit
order goes from the ticket into the book and the open orders, is canceled, and a fill moves the
positions and the P&L. Screenshots at desktop and phone widths land in test-artifacts/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.orders.models import Order
from apps.orders.services import order_submit
from tests.browser.conftest import Servers, wait_until
from tests.clients.factories import PASSWORD, ClientFactory, ClientUserFactory, UserFactory
from tests.instruments.factories import EquityFactory
from tests.trading import funded_account, holding

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
D = Decimal
TIMEOUT_MS = 15_000


def rest(account, instrument, side: str, qty: int, price: str) -> Order:
    """A counterparty's limit order, through the service and (after commit) the matcher."""
    return order_submit(
        account=account,
        instrument=instrument,
        side=side,
        order_type="limit",
        time_in_force="gtc",
        quantity=D(qty),
        limit_price=D(price),
    )


@pytest.fixture
def desk_world(servers: Servers, settings):
    # The servers hash with Django's default hasher, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    aapl = EquityFactory(symbol="AAPL", name="Apple Inc.", reference_price=D("230.00"))
    EquityFactory(symbol="MSFT", name="Microsoft Corporation", reference_price=D("420.00"))
    user = UserFactory(username="browser-trader", first_name="Ada", last_name="Lovelace")
    client = ClientFactory(legal_name="Ada Lovelace")
    ClientUserFactory(client=client, user=user, can_trade=True)
    account = funded_account(cash=D(100_000), client=client)
    maker = funded_account(cash=D(100_000), account_type="margin")
    holding(maker, aapl, D(1_000), D(200))
    other = funded_account(cash=D(100_000))
    servers.start_all()
    return {"aapl": aapl, "user": user, "account": account, "maker": maker, "other": other}


def print_trade_and_bar(instrument, *, price: str, qty: str) -> None:
    """Publish a trade print and its minute bar with the market-data app's own builders, to
    the groups its publisher uses: a trade from elsewhere (an external feed) the desk must
    show like its own venue's."""
    from django.utils import timezone

    from apps.marketdata.messages import bar_message, encode, envelope, iso, trade_message
    from apps.marketdata.publisher import publisher
    from apps.marketdata.selectors import latest_bar
    from apps.marketdata.specs import specs_for

    spec = specs_for({instrument.symbol})[instrument.symbol]
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    trade = trade_message(spec, price=D(price), qty=D(qty), side="buy", at=iso(now))
    # Extend this minute's bar when the market-data app has recorded one, as a trade would.
    current = latest_bar(instrument.symbol)
    if current is None or current["start"] != minute:
        current = {"start": minute, "open": D(price), "high": D(price), "low": D(price),
                   "volume": D(0)}  # fmt: skip
    bar = bar_message(
        spec,
        current
        | {
            "high": max(current["high"], D(price)),
            "low": min(current["low"], D(price)),
            "close": D(price),
            "volume": current["volume"] + D(qty),
        },
    )
    publisher.publish(
        [
            envelope("trades", instrument.symbol, [[10**9, encode(trade)]]),
            envelope("bars", instrument.symbol, [[iso(minute), encode(bar)]]),
        ]
    )
    publisher.flush()


def shoot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_trader_sees_live_quotes_places_cancels_and_gets_filled(
    chromium_path, servers, desk_world, artifacts
):
    from playwright.sync_api import expect, sync_playwright

    world = desk_world
    aapl, account, maker, other = world["aapl"], world["account"], world["maker"], world["other"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{servers.url}/account/login/?next=/desk/")
            page.get_by_label("Username").fill("browser-trader")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"**/desk/{account.pk}/", timeout=TIMEOUT_MS)
            expect(page.locator("#ws-status")).to_have_text("Live market data", timeout=TIMEOUT_MS)

            # Quotes change without a reload: a market maker quotes around 230.
            rest(maker, aapl, "sell", 50, "231.00")
            rest(maker, aapl, "buy", 50, "229.00")
            row = page.locator('#watchlist tr[data-symbol="AAPL"]')
            expect(row.locator('[data-field="bid"]')).to_have_text("229.00", timeout=TIMEOUT_MS)
            expect(row.locator('[data-field="ask"]')).to_have_text("231.00", timeout=TIMEOUT_MS)
            depth = page.locator("#depth tbody tr").first
            expect(depth.locator("td").nth(2)).to_have_text("229.00", timeout=TIMEOUT_MS)
            expect(depth.locator("td").nth(3)).to_have_text("231.00")

            # A limit order from the ticket: into the book and the open orders.
            ticket = page.locator("#ticket")
            ticket.locator("#id_qty").fill("10")
            ticket.locator("#id_limit_price").fill("229.50")
            expect(page.locator("#ticket-estimate")).to_have_text("2,295.00")
            ticket.get_by_role("button", name="Place buy order").click()
            expect(ticket.locator(".notice.ok")).to_contain_text("Order sent", timeout=TIMEOUT_MS)
            orders = page.locator("#open-orders")
            expect(orders.locator("tbody tr").first).to_contain_text("229.50", timeout=TIMEOUT_MS)
            expect(orders.locator(".status").first).to_have_text("New", timeout=TIMEOUT_MS)
            expect(depth.locator("td").nth(2)).to_have_text("229.50", timeout=TIMEOUT_MS)
            expect(row.locator('[data-field="bid"]')).to_have_text("229.50")
            shoot(page, artifacts, "desk-desktop-resting-order")

            # A refusal from the service shows next to the field.
            ticket.locator("#id_limit_price").fill("229.505")
            ticket.get_by_role("button", name="Place buy order").click()
            expect(page.locator("#id_limit_price_error")).to_contain_text(
                "ticks of 0.01", timeout=TIMEOUT_MS
            )
            expect(ticket.locator("#id_limit_price")).to_be_focused()

            # Cancel it from the blotter.
            orders.get_by_role("button", name="Cancel buy 10 AAPL").click()
            expect(orders).to_contain_text("No open orders", timeout=TIMEOUT_MS)
            expect(depth.locator("td").nth(2)).to_have_text("229.00", timeout=TIMEOUT_MS)

            # Take the offer: a fill, positions and P&L follow.
            ticket.locator("#id_limit_price").fill("231.00")
            ticket.get_by_role("button", name="Place buy order").click()
            expect(page.locator("#desk-announcer")).to_contain_text(
                "Order filled: 10 at 231.00", timeout=TIMEOUT_MS
            )
            position = page.locator('#positions tr[data-symbol="AAPL"]')
            expect(position).to_contain_text("10", timeout=TIMEOUT_MS)
            expect(position.locator('[data-field="upnl"]')).to_have_text("+0.00")
            expect(page.locator("#executions tbody tr").first).to_contain_text("231.00")
            expect(depth.locator("td").nth(4)).to_have_text("40")  # 50 offered, 10 taken

            # Another account lifts the rest of the offer and one more at 232: the last trade,
            # the mark of the position, is 232 and the P&L follows.
            rest(maker, aapl, "sell", 5, "232.00")
            rest(other, aapl, "buy", 45, "232.00")
            wait_until(
                lambda: Order.objects.filter(account=other, status="filled").exists(),
                15,
                "the trades up to 232",
            )
            page.wait_for_timeout(500)
            upnl = position.locator('[data-field="upnl"]')
            if upnl.inner_text() != "+10.00":
                # Without a trade print on the socket the desk marks at the next refresh.
                page.evaluate("htmx.trigger(document.body, 'orders-changed')")
            expect(upnl).to_have_text("+10.00", timeout=TIMEOUT_MS)

            # Trade prints and bars as the market-data app publishes them: the tape, the
            # chart and the P&L move with no reload and no refresh.
            print_trade_and_bar(aapl, price="233.00", qty="7")
            expect(page.locator("#tape tr").first).to_contain_text("233.00", timeout=TIMEOUT_MS)
            expect(upnl).to_have_text("+20.00", timeout=TIMEOUT_MS)
            expect(position.locator('[data-field="mark"]')).to_have_text("233.00")
            expect(page.locator("#chart-empty")).to_be_hidden()
            assert page.evaluate("document.querySelectorAll('#chart canvas').length") > 0
            expect(row.locator('[data-field="last"]')).to_have_text("233.00")
            shoot(page, artifacts, "desk-desktop-filled")

            # Another instrument from the watchlist: ticket, ladder and address follow, no reload.
            page.locator('#watchlist a[data-select-symbol="MSFT"]').click()
            expect(ticket.locator(".instrument-line")).to_contain_text("MSFT", timeout=TIMEOUT_MS)
            expect(page.locator("#depth-title")).to_contain_text("MSFT")
            expect(depth.locator("td").nth(2)).to_have_text("")
            assert page.url.endswith("?symbol=MSFT")
            assert page.evaluate("window.desk.symbol") == "MSFT"

            phone = browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{servers.url}/desk/{account.pk}/?symbol=AAPL")
            expect(phone.locator("#ws-status")).to_have_text("Live market data", timeout=TIMEOUT_MS)
            expect(
                phone.locator('#watchlist tr[data-symbol="AAPL"] [data-field="bid"]')
            ).to_have_text("229.00", timeout=TIMEOUT_MS)
            no_sideways_scroll = phone.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth + 1"
            )
            shoot(phone, artifacts, "desk-phone")
            assert no_sideways_scroll, "the desk scrolls sideways on a phone"
            assert errors == [], errors
        except Exception:
            for opened in browser.contexts:
                for number, tab in enumerate(opened.pages):
                    shoot(tab, artifacts, f"desk-failure-{number}")
            print(servers.logs())
            raise
        finally:
            browser.close()
