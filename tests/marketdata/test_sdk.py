"""The official alpaca-py data SDK against our server: REST on the live server (seeded demo
data), the msgpack data stream on a real daphne."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.stock import StockDataStream
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestOrderbookRequest,
    CryptoLatestQuoteRequest,
    CryptoLatestTradeRequest,
    StockBarsRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockQuotesRequest,
    StockSnapshotRequest,
    StockTradesRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from apps.clients.models import Account, Partner
from apps.common.demo import demo_api_keys, seed_demo
from apps.marketdata.publisher import publisher
from apps.marketdata.services import EngineBookProjector, trades_committed
from apps.orders.applier import TradePrint

D = Decimal
T0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=30)


@pytest.fixture
def keys(md, transactional_db, settings):
    settings.API_KEY_THROTTLE_RATE = "100000/min"
    seed_demo()
    accounts = list(Account.objects.filter(number__startswith="DEMO"))
    partner = Partner.objects.get(name="Northwind Fintech")
    for owner, key_id, secret in demo_api_keys(accounts, partner):
        if owner.get("account") and owner["account"].number == "DEMO0001":
            return key_id, secret
    raise AssertionError("no demo key")


def market(symbol="AAPL", base=23000):
    tick = D("0.01")
    projector = EngineBookProjector()
    now = time.time_ns()
    projector.apply(
        [
            ("book", 1, now, symbol, "buy", base - 1, 300, 2),
            ("book", 2, now, symbol, "sell", base + 1, 200, 1),
            ("top", 3, now, symbol, base - 1, 300, base + 1, 200),
        ]
    )
    prints = [
        TradePrint(
            symbol,
            D(base) * tick + D(i) * tick,
            D(10 + i),
            T0 + dt.timedelta(minutes=i),
            10 + i,
            "buy",
        )
        for i in range(12)
    ]
    trades_committed(prints)
    publisher.flush()


def test_stock_client_parses_bars_latest_quote_trade_snapshot_trades_quotes(keys, live_server):
    market("AAPL")
    client = StockHistoricalDataClient(*keys, url_override=live_server.url)
    bars = client.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=["AAPL"],
            timeframe=TimeFrame(5, TimeFrameUnit.Minute),
            start=T0 - dt.timedelta(hours=1),
        )
    )["AAPL"]
    assert sum(b.trade_count for b in bars) == 12 and len(bars) in (3, 4)
    minute = client.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Minute, limit=5)
    )
    assert len(minute["AAPL"]) == 5 and minute["AAPL"][0].open == 230.0
    quote = client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        229.99,
        300,
        230.01,
        200,
    )
    trade = client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert trade.price == 230.11 and trade.size == 21
    snapshot = client.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert snapshot.latest_trade.price == 230.11 and snapshot.latest_quote.ask_price == 230.01
    assert snapshot.minute_bar.close == 230.11 and snapshot.daily_bar.volume > 0
    quotes = client.get_stock_quotes(StockQuotesRequest(symbol_or_symbols="AAPL"))
    assert quotes["AAPL"][-1].bid_price == 229.99
    trades = client.get_stock_trades(
        StockTradesRequest(symbol_or_symbols="AAPL", start=T0 - dt.timedelta(days=1))
    )
    assert trades.data.get("AAPL", []) == []  # no executions yet: the tape is the executions


def test_crypto_client_parses_bars_latest_quote_trade_and_orderbook(keys, live_server):
    market("BTC-USD", base=6_000_000)
    client = CryptoHistoricalDataClient(*keys, url_override=live_server.url)
    bars = client.get_crypto_bars(
        CryptoBarsRequest(symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Hour)
    )
    assert sum(b.volume for b in bars["BTC/USD"]) == sum(10 + i for i in range(12))
    quote = client.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD"))[
        "BTC/USD"
    ]
    assert quote.bid_price == 59999.99
    trade = client.get_crypto_latest_trade(CryptoLatestTradeRequest(symbol_or_symbols="BTC/USD"))[
        "BTC/USD"
    ]
    assert trade.price == 60000.11
    book = client.get_crypto_latest_orderbook(
        CryptoLatestOrderbookRequest(symbol_or_symbols="BTC/USD")
    )["BTC/USD"]
    assert book.bids[0].price == 59999.99 and book.asks[0].size == 0.02


def test_wrong_key_is_refused(keys, live_server):
    from alpaca.common.exceptions import APIError

    client = StockHistoricalDataClient("nope", "nope", url_override=live_server.url)
    with pytest.raises(APIError):
        client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))


def test_stock_data_stream_receives_a_live_quote_and_trade(keys, daphne_server):
    received = {"quote": [], "trade": []}

    async def on_quote(quote):
        received["quote"].append(quote)

    async def on_trade(trade):
        received["trade"].append(trade)

    stream = StockDataStream(*keys, url_override=f"ws://{daphne_server}/v2/iex")
    stream.subscribe_quotes(on_quote, "AAPL")
    stream.subscribe_trades(on_trade, "AAPL")
    runner = threading.Thread(target=stream.run, daemon=True)
    runner.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (received["quote"] and received["trade"]):
        time.sleep(0.5)
        market("AAPL")
    stream.stop()
    runner.join(10)
    quote = received["quote"][-1]
    assert quote.symbol == "AAPL" and quote.bid_price == 229.99 and quote.ask_size == 200
    # Prints are re-sent every half second, so the stream may stop in the middle of a series:
    # every trade must be well formed, and the series' prices must be among them.
    trades = received["trade"]
    assert all(t.symbol == "AAPL" and t.timestamp.tzinfo is not None for t in trades)
    assert all(230 <= t.price <= 230.11 for t in trades)
    assert any(t.price > 230 for t in trades)
