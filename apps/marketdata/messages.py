"""The messages clients receive on ``/ws/market/`` (docs/marketdata.md), and the envelope they
travel in through the channel layer.

Each message is encoded to JSON once, by the publisher, and the text travels in the envelope:
a thousand subscribers then cost a thousand socket writes, not a thousand ``json.dumps``.

Envelope (``type`` ``md.event``, handled by ``md_event`` on the consumers)::

    {"type": "md.event", "channel": "quotes"|"depth"|"trades"|"bars", "symbol": "AAPL",
     "items": [[key, text], ...]}

``key`` is the depth sequence number for depth increments, the engine sequence for trades,
the bar's minute for bars and None for quotes.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from apps.marketdata.keys import group
from apps.marketdata.specs import MarketSpec

EVENT_TYPE = "md.event"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HUNDREDTH = Decimal("0.01")


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def iso_from_ns(ts_ns: int) -> str:
    """RFC 3339 UTC with microseconds, the precision Postgres keeps."""
    return (_EPOCH + dt.timedelta(microseconds=ts_ns // 1000)).isoformat().replace("+00:00", "Z")


def alpaca_number(value: Decimal | str | None) -> int | float | None:
    """A Decimal (or its string) as a JSON number, Alpaca's wire format: exact for integers.
    Inside we keep Decimal; the REST and streaming adapters convert at the edge."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def envelope(channel: str, symbol: str, items: list[list[Any]]) -> tuple[str, dict[str, Any]]:
    """A (group, message) pair for the publisher."""
    return group(channel, symbol), {
        "type": EVENT_TYPE,
        "channel": channel,
        "symbol": symbol,
        "items": items,
    }


def change_pct(last: Decimal | None, prev_close: Decimal | None) -> str | None:
    if last is None or not prev_close:
        return None
    return str(((last - prev_close) * 100 / prev_close).quantize(HUNDREDTH, ROUND_HALF_EVEN))


def quote_message(
    spec: MarketSpec,
    *,
    bid: Decimal | None,
    bid_size: Decimal,
    ask: Decimal | None,
    ask_size: Decimal,
    last: Decimal | None,
    prev_close: Decimal | None,
    at: str | None,
) -> dict[str, Any]:
    return {
        "type": "quote",
        "symbol": spec.symbol,
        "bid": spec.price_str(bid),
        "bid_size": spec.qty_str(bid_size),
        "ask": spec.price_str(ask),
        "ask_size": spec.qty_str(ask_size),
        "last": spec.price_str(last),
        "prev_close": spec.price_str(prev_close),
        "change_pct": change_pct(last, prev_close),
        "at": at,
    }


def trade_message(
    spec: MarketSpec, *, price: Decimal, qty: Decimal, side: str | None, at: str
) -> dict[str, Any]:
    return {
        "type": "trade",
        "symbol": spec.symbol,
        "price": spec.price_str(price),
        "qty": spec.qty_str(qty),
        "side": side,
        "at": at,
    }


def bar_message(spec: MarketSpec, bar: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bar",
        "symbol": spec.symbol,
        "t": iso(bar["start"]),
        "o": spec.price_str(bar["open"]),
        "h": spec.price_str(bar["high"]),
        "l": spec.price_str(bar["low"]),
        "c": spec.price_str(bar["close"]),
        "v": spec.qty_str(bar["volume"]),
    }


def depth_message(
    spec: MarketSpec, *, seq: int, side: str, price: Decimal, qty: Decimal, count: int
) -> dict[str, Any]:
    return {
        "type": "depth",
        "symbol": spec.symbol,
        "seq": seq,
        "side": side,
        "price": spec.price_str(price),
        "qty": spec.qty_str(qty),
        "count": count,
    }


def error_message(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
