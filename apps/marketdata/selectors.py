"""Market data reads: the latest state from the Redis cache, bars and trades from PostgreSQL.

Bars coarser than a minute are derived here by grouping the stored 1-minute bars in SQL
(``date_bin`` for minutes and hours; days, weeks and months start at midnight in the venue's
time zone, as exchanges and Alpaca date daily bars), so there is a single source of truth:
open of the first minute, close of the last, max/min, summed volume and trade count,
VWAP = sum(notional) / sum(volume).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery

from apps.marketdata import keys
from apps.marketdata.models import Bar
from apps.marketdata.specs import MarketSpec, cached_prev_close, remember_prev_close
from apps.matching.transport import redis_client


def _text(value: bytes | None) -> str:
    return value.decode() if value else ""


def _dec(value: bytes | str | None) -> Decimal | None:
    if isinstance(value, bytes):
        value = value.decode()
    return Decimal(value) if value else None


def prev_close(spec: MarketSpec, *, now: dt.datetime | None = None) -> Decimal | None:
    """The previous day's close: the close of the last bar before today's midnight in the
    venue's time zone, else the instrument's reference price as it stood when first asked
    today. Cached per symbol and day."""
    today, midnight = spec.today(now or dt.datetime.now(dt.UTC))
    found, value = cached_prev_close(spec.symbol, today)
    if found:
        return value
    value = (
        Bar.objects.filter(instrument_id=spec.instrument_id, start__lt=midnight)
        .order_by("-start")
        .values_list("close", flat=True)
        .first()
    )
    if value is None:
        from apps.instruments.models import Instrument

        value = (
            Instrument.objects.filter(pk=spec.instrument_id)
            .values_list("reference_price", flat=True)
            .first()
        )
    remember_prev_close(spec.symbol, today, value)
    return value


# --- the Redis cache ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    symbol: str
    seq: int
    bids: list[tuple[Decimal, Decimal, int]]  # best (highest) first
    asks: list[tuple[Decimal, Decimal, int]]  # best (lowest) first


def depth_snapshot(symbol: str, *, levels: int | None = None) -> DepthSnapshot:
    """The book as of its depth sequence number (levels and seq are read atomically)."""
    raw = redis_client().hgetall(keys.depth_key(symbol))
    return _parse_depth(symbol, raw, levels)


async def adepth_snapshot(symbol: str, *, levels: int | None = None) -> DepthSnapshot:
    """``depth_snapshot`` for consumers, without a thread hop (redis.asyncio)."""
    raw = await async_redis().hgetall(keys.depth_key(symbol))
    return _parse_depth(symbol, raw, levels)


def _parse_depth(symbol: str, raw: dict[bytes, bytes], levels: int | None) -> DepthSnapshot:
    seq = int(raw.pop(b"seq", 0) or 0)
    bids, asks = [], []
    for field, value in raw.items():
        side, _, price = field.decode().partition(":")
        qty, _, count = value.decode().partition("|")
        row = (Decimal(price), Decimal(qty), int(count or 0))
        (bids if side == "b" else asks).append(row)
    bids.sort(key=lambda r: r[0], reverse=True)
    asks.sort(key=lambda r: r[0])
    if levels is not None:
        bids, asks = bids[:levels], asks[:levels]
    return DepthSnapshot(symbol=symbol, seq=seq, bids=bids, asks=asks)


def latest_quote(symbol: str) -> dict[str, Any] | None:
    """{bid, bid_size, ask, ask_size (Decimal or None), at (ISO), at_ns} or None."""
    return _parse_quote(redis_client().hgetall(keys.quote_key(symbol)))


def _parse_quote(raw: dict[bytes, bytes]) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "bid": _dec(raw.get(b"bid")),
        "bid_size": _dec(raw.get(b"bid_size")) or Decimal(0),
        "ask": _dec(raw.get(b"ask")),
        "ask_size": _dec(raw.get(b"ask_size")) or Decimal(0),
        "at": _text(raw.get(b"at")),
        "at_ns": int(raw.get(b"at_ns") or 0),
    }


def latest_trade(symbol: str) -> dict[str, Any] | None:
    """{price, qty (Decimal), side, at (ISO), seq} of the last committed trade, or None."""
    raw = redis_client().hgetall(keys.trade_key(symbol))
    if not raw:
        return None
    return {
        "price": _dec(raw[b"price"]),
        "qty": _dec(raw[b"qty"]),
        "side": _text(raw.get(b"side")) or None,
        "at": _text(raw.get(b"at")),
        "seq": int(raw.get(b"seq") or 0),
    }


def quote_history(
    symbol: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    after_id: str | None = None,
    limit: int = 1000,
    descending: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """L1 changes of ``symbol`` from the capped history stream: (stream id, quote) pairs.
    Stream ids start with the arrival time in milliseconds, so a time range is an id range."""
    low = f"{int(start.timestamp() * 1000)}-0" if start else "-"
    high = f"{int(end.timestamp() * 1000)}-18446744073709551615" if end else "+"
    if after_id:
        if descending:
            high = f"({after_id}"
        else:
            low = f"({after_id}"
    r = redis_client()
    key = keys.quote_history_key(symbol)
    if descending:
        entries = r.xrevrange(key, max=high, min=low, count=limit)
    else:
        entries = r.xrange(key, min=low, max=high, count=limit)
    rows = []
    for entry_id, fields in entries:
        rows.append(
            (
                entry_id.decode(),
                {
                    "bid": _dec(fields.get(b"bid")),
                    "bid_size": _dec(fields.get(b"bid_size")) or Decimal(0),
                    "ask": _dec(fields.get(b"ask")),
                    "ask_size": _dec(fields.get(b"ask_size")) or Decimal(0),
                    "at_ns": int(fields.get(b"at_ns") or 0),
                },
            )
        )
    return rows


_async_clients: dict[int, Any] = {}


def async_redis():
    """One redis.asyncio client per event loop (a client must not cross loops)."""
    import asyncio

    import redis.asyncio as aredis
    from django.conf import settings

    loop = asyncio.get_running_loop()
    key = id(loop)
    client = _async_clients.get(key)
    if client is None or getattr(client, "_md_loop", None) is not loop:
        # Blocking pool: a burst of subscribers waits for a connection instead of failing.
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=50, timeout=10
        )
        client = aredis.Redis(connection_pool=pool)
        client._md_loop = loop
        _async_clients[key] = client
    return client


async def alatest_quote(symbol: str) -> dict[str, Any] | None:
    return _parse_quote(await async_redis().hgetall(keys.quote_key(symbol)))


async def alatest_trade_price(symbol: str) -> Decimal | None:
    return _dec(await async_redis().hget(keys.trade_key(symbol), "price"))


# --- PostgreSQL ---------------------------------------------------------------------------

# Alpaca timeframe unit -> how to bucket: ("bin", interval) or ("trunc", field)
_UNITS = {"Min": "minutes", "T": "minutes", "Hour": "hours", "H": "hours", "Day": "days"}


def parse_timeframe(value: str) -> tuple[str, str]:
    """``5Min`` -> ("bin", "5 minutes"); ``1Week`` -> ("trunc", "week"). ValueError if bad."""
    digits = "".join(ch for ch in value if ch.isdigit())
    unit = value[len(digits) :]
    amount = int(digits or "1")
    if amount < 1:
        raise ValueError("timeframe amount must be positive")
    if unit in ("Week", "W") and amount == 1:
        return "trunc", "week"
    if unit in ("Month", "M"):
        if amount == 1:
            return "trunc", "month"
        raise ValueError("only 1Month is supported")
    if unit not in _UNITS:
        raise ValueError(f"unknown timeframe {value!r}")
    if unit in ("Min", "T") and amount > 59:
        raise ValueError("minute timeframes go up to 59Min")
    if unit in ("Hour", "H") and amount > 23:
        raise ValueError("hour timeframes go up to 23Hour")
    return "bin", f"{amount} {_UNITS[unit]}"


_AGGREGATE_SQL = """
SELECT symbol, bucket AS start,
       (array_agg(open ORDER BY start))[1] AS open,
       max(high) AS high, min(low) AS low,
       (array_agg(close ORDER BY start DESC))[1] AS close,
       sum(volume) AS volume, sum(trade_count) AS trade_count,
       round(sum(notional) / sum(volume), 8) AS vwap
FROM (
    SELECT bar.symbol, start, open, high, low, close, volume, trade_count, notional,
           {bucket} AS bucket
    FROM marketdata_bar bar
    JOIN instruments_instrument instrument ON instrument.id = bar.instrument_id
    JOIN instruments_venue venue ON venue.id = instrument.venue_id
    WHERE bar.symbol = ANY(%s) AND start >= %s AND start < %s
) minute_bars
GROUP BY symbol, bucket
ORDER BY symbol, bucket {direction}
LIMIT %s OFFSET %s
"""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def bars(
    symbols: list[str],
    *,
    timeframe: str = "1Min",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """Bars of ``symbols`` (ordered by symbol, then time) with keys symbol, start, open, high,
    low, close, volume, trade_count, vwap. ``start`` is inclusive, ``end`` exclusive, both
    compared with the minute bars' starts (so a 5Min bar may cover minutes outside the range
    only if it is cut by it, as Alpaca does)."""
    mode, arg = parse_timeframe(timeframe)
    if mode == "trunc":
        bucket = f"date_trunc('{arg}', start, venue.timezone)"
    elif arg.endswith("days"):  # n days from the venue's midnight
        local = "start AT TIME ZONE venue.timezone"
        bucket = f"date_bin(interval '{arg}', {local}, timestamp '1970-01-01') AT TIME ZONE "
        bucket += "venue.timezone"
    else:
        bucket = f"date_bin(interval '{arg}', start, timestamptz '1970-01-01 00:00:00+00')"
    sql = _AGGREGATE_SQL.format(bucket=bucket, direction="DESC" if descending else "ASC")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [list(symbols), start or _EPOCH, end or _FAR_FUTURE, limit, offset],
        )
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def latest_bar(symbol: str) -> dict[str, Any] | None:
    """The latest 1-minute bar, or None."""
    row = (
        Bar.objects.filter(symbol=symbol)
        .order_by("-start")
        .values("symbol", "start", "open", "high", "low", "close", "volume", "trade_count", "vwap")
        .first()
    )
    return row


def daily_bars(symbol: str, *, count: int = 2) -> list[dict[str, Any]]:
    """The last ``count`` daily bars (venue days), newest first."""
    return bars([symbol], timeframe="1Day", limit=count, descending=True)


def trades(
    symbols: list[str],
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """The trade tape from the executions: one row per engine trade (each trade has an
    execution per side; we keep one per (shard, engine_sequence)). Keys: symbol, price, qty,
    at, id (the engine sequence), side (the taker's side, None for an auction)."""
    from apps.orders.models import Execution

    one_per_trade = (
        Execution.objects.filter(
            shard=OuterRef("shard"), engine_sequence=OuterRef("engine_sequence")
        )
        .order_by("pk")
        .values("pk")[:1]
    )
    qs = Execution.objects.filter(instrument__symbol__in=symbols, pk=Subquery(one_per_trade))
    if start:
        qs = qs.filter(executed_at__gte=start)
    if end:
        qs = qs.filter(executed_at__lt=end)
    order = ("-" if descending else "") + "executed_at"
    seq_order = ("-" if descending else "") + "engine_sequence"
    rows = qs.order_by("instrument__symbol", order, seq_order).values(
        "instrument__symbol", "price", "quantity", "executed_at", "engine_sequence"
    )[offset : offset + limit]
    return [
        {
            "symbol": r["instrument__symbol"],
            "price": r["price"],
            "qty": r["quantity"],
            "at": r["executed_at"],
            "id": r["engine_sequence"],
        }
        for r in rows
    ]
