"""Demo liquidity: the market maker quotes both sides of open markets only, and noise traders
take its quotes, all through the order service."""

from decimal import Decimal

import pytest

from apps.instruments.models import Venue
from apps.marketdata.liquidity import DemoLiquidity
from apps.orders.choices import OrderStatus
from apps.orders.models import Execution, Order
from apps.positions.models import Position
from apps.positions.selectors import ledger_reconciliation
from tests.instruments.factories import CryptoFactory, EquityFactory
from tests.trading import funded_account, holding

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def book(market, django_capture_on_commit_callbacks):
    around_the_clock = Venue.objects.create(mic="CRYP", name="Crypto", is_24x7=True)
    # A venue without sessions is never open: the maker must leave its instrument alone.
    no_sessions = Venue.objects.create(mic="XNOS", name="Closed venue")
    bitcoin = CryptoFactory(symbol="BTC-USD", venue=around_the_clock, reference_price=D("60000.00"))
    closed = EquityFactory(symbol="SHUT", venue=no_sessions, reference_price=D("50.00"))
    for instrument in (bitcoin, closed):
        market.list(instrument)
    maker = funded_account(
        cash=D(5_000_000), account_type="margin", asset_classes=["equity", "crypto"]
    )
    holding(maker, bitcoin, D(100), D(60_000))
    taker = funded_account(cash=D(1_000_000), asset_classes=["equity", "crypto"])
    liquidity = DemoLiquidity(maker=maker, takers=[taker], instruments=[bitcoin, closed], seed=7)
    return liquidity, bitcoin, closed, maker, taker


def run(liquidity, market, django_capture_on_commit_callbacks, now: float) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        liquidity.step(now=now)
    market.step()


def test_the_maker_quotes_both_sides_of_open_markets_only(
    book, market, django_capture_on_commit_callbacks
):
    liquidity, bitcoin, closed, maker, _ = book
    liquidity.next_noise = float("inf")  # quotes only

    run(liquidity, market, django_capture_on_commit_callbacks, now=0.0)

    quotes = Order.objects.filter(account=maker, instrument=bitcoin, status=OrderStatus.NEW)
    assert sorted(quotes.values_list("side", flat=True)) == ["buy", "sell"]
    bid = quotes.get(side="buy").limit_price
    ask = quotes.get(side="sell").limit_price
    assert bid < D("60000.00") < ask
    assert not Order.objects.filter(instrument=closed).exists()


def test_noise_traders_take_the_quotes_and_the_ledger_stays_balanced(
    book, market, django_capture_on_commit_callbacks
):
    liquidity, bitcoin, _, _, taker = book
    run(liquidity, market, django_capture_on_commit_callbacks, now=0.0)

    for second in range(1, 8):
        run(liquidity, market, django_capture_on_commit_callbacks, now=second * 10.0)

    assert Execution.objects.filter(account=taker, instrument=bitcoin).exists()
    # A noise trader sells only what it holds: it never ends up short.
    assert Position.objects.get(account=taker, instrument=bitcoin).quantity > 0
    assert ledger_reconciliation() == []
