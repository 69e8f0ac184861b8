import datetime as dt
from decimal import Decimal

import pytest

from apps.marketdata.models import Bar
from apps.marketdata.selectors import bars, latest_trade
from apps.marketdata.services import trades_committed
from apps.orders.applier import TradePrint
from tests.instruments.factories import CryptoFactory, EquityFactory

D = Decimal
T0 = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def prints(symbol, rows, seq=1):
    out = []
    for offset_s, price, qty in rows:
        out.append(
            TradePrint(symbol, D(price), D(qty), T0 + dt.timedelta(seconds=offset_s), seq, "buy")
        )
        seq += 1
    return out


def test_trades_committed_builds_one_minute_ohlcv_with_vwap(md):
    EquityFactory(symbol="ACME")
    trades_committed(
        prints("ACME", [(1, "10.00", 100), (20, "10.50", 50), (40, "9.80", 10), (59, "10.10", 40)])
    )
    bar = Bar.objects.get(symbol="ACME")
    assert bar.start == T0
    assert (bar.open, bar.high, bar.low, bar.close) == (
        D("10.00"),
        D("10.50"),
        D("9.80"),
        D("10.10"),
    )
    assert bar.volume == 200 and bar.trade_count == 4
    assert bar.vwap == (D("1000") + D("525") + D("98") + D("404")) / 200
    assert latest_trade("ACME")["price"] == D("10.10")


def test_later_batches_extend_the_bar_and_a_redelivered_batch_is_ignored(md):
    EquityFactory(symbol="ACME")
    first = prints("ACME", [(1, "10.00", 100)], seq=1)
    second = prints("ACME", [(30, "11.00", 100), (45, "10.40", 100)], seq=2)
    trades_committed(first)
    trades_committed(second)
    trades_committed(second)
    bar = Bar.objects.get(symbol="ACME")
    assert (bar.open, bar.high, bar.low, bar.close) == (
        D("10.00"),
        D("11.00"),
        D("10.00"),
        D("10.40"),
    )
    assert bar.volume == 300 and bar.trade_count == 3
    assert bar.vwap == D("10.46666667")


def test_trades_are_split_by_minute(md):
    EquityFactory(symbol="ACME")
    trades_committed(prints("ACME", [(10, "10", 1), (70, "11", 2), (130, "12", 3)]))
    assert list(Bar.objects.order_by("start").values_list("start", "close", "volume")) == [
        (T0, D("10"), D(1)),
        (T0 + dt.timedelta(minutes=1), D("11"), D(2)),
        (T0 + dt.timedelta(minutes=2), D("12"), D(3)),
    ]


def test_trades_committed_never_raises(md, caplog):
    trades_committed([TradePrint("NOPE", D(1), D(1), T0, 1, None)])  # unknown symbol: ignored
    trades_committed([object()])  # garbage: logged, not raised
    assert "not recorded" in caplog.text


def test_five_minute_hourly_and_daily_bars_are_derived_from_minutes(md):
    EquityFactory(symbol="ACME")
    rows, seq = [], 1
    # 3 hours of one trade per 10 minutes, price = 100 + index, qty = 1 + index
    for i in range(18):
        rows.append((i * 600, str(100 + i), 1 + i))
    trades_committed(prints("ACME", rows, seq=seq))
    five = bars(["ACME"], timeframe="5Min")
    assert len(five) == 18
    assert five[0]["start"] == T0 and five[1]["start"] == T0 + dt.timedelta(minutes=10)
    ten = bars(["ACME"], timeframe="10Min")
    assert [b["close"] for b in ten] == [D(100 + i) for i in range(18)]
    hourly = bars(["ACME"], timeframe="1Hour")
    # T0 is 14:30: the first hour bucket (14:00) holds 3 trades, then 6, 6, 3
    assert [b["start"].hour for b in hourly] == [14, 15, 16, 17]
    assert [b["trade_count"] for b in hourly] == [3, 6, 6, 3]
    first = hourly[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        D(100),
        D(102),
        D(100),
        D(102),
    )
    assert first["volume"] == D(1 + 2 + 3)
    assert first["vwap"] == ((D(100) * 1 + D(101) * 2 + D(102) * 3) / 6).quantize(D("0.00000001"))
    daily = bars(["ACME"], timeframe="1Day")
    assert len(daily) == 1
    day = daily[0]
    assert day["start"] == dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC)  # midnight in New York
    assert (day["open"], day["high"], day["low"], day["close"]) == (D(100), D(117), D(100), D(117))
    assert day["volume"] == sum(D(1 + i) for i in range(18)) and day["trade_count"] == 18
    window = bars(["ACME"], timeframe="1Hour", start=T0 + dt.timedelta(hours=1), limit=2)
    assert [b["start"].hour for b in window] == [15, 16]


def test_a_day_bar_starts_at_midnight_where_the_instrument_trades(md):
    EquityFactory(symbol="ACME")  # New York
    CryptoFactory(symbol="BTC-USD", venue__timezone="UTC")
    evening = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)  # 19:30 in New York (EDT)
    for symbol in ("ACME", "BTC-USD"):
        trades_committed(
            [
                TradePrint(symbol, D(10), D(1), evening, 1, "buy"),
                TradePrint(symbol, D(11), D(1), evening + dt.timedelta(hours=2), 2, "buy"),
            ]
        )

    acme = bars(["ACME"], timeframe="1Day")
    assert [(b["start"], b["close"]) for b in acme] == [
        (dt.datetime(2026, 7, 1, 4, tzinfo=dt.UTC), D(11))  # both on July 1st in New York
    ]
    bitcoin = bars(["BTC-USD"], timeframe="1Day")
    assert [(b["start"], b["close"]) for b in bitcoin] == [
        (dt.datetime(2026, 7, 1, tzinfo=dt.UTC), D(10)),
        (dt.datetime(2026, 7, 2, tzinfo=dt.UTC), D(11)),
    ]
    weekly = bars(["ACME"], timeframe="1Week")
    assert weekly[0]["start"] == dt.datetime(2026, 6, 29, 4, tzinfo=dt.UTC)  # Monday, New York
