"""The Alpaca market data REST API, at the paths alpaca-py's data clients call with
``url_override``: ``StockHistoricalDataClient`` (``/v2/stocks/...``) and
``CryptoHistoricalDataClient`` (``/v1beta3/crypto/<loc>/...``).

Authentication is the trading API's (``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``, or a broker
key): market data is not account data, so any active key may read it. Prices are Decimal
everywhere inside; Alpaca's wire format has JSON numbers, so they become numbers only here, at
the edge (the SDK parses them into floats either way). Crypto symbols are ``BTC/USD`` on the
wire and ``BTC-USD`` in our instrument table.

Pagination: ``next_page_token`` is an opaque offset into the (symbol, time) ordering.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.authentication import BrokerBasicAuthentication, TradingKeyAuthentication
from apps.api.base import ApiView
from apps.api.permissions import IsAnyApiKey
from apps.common.errors import ValidationFailed
from apps.marketdata import selectors
from apps.marketdata.messages import alpaca_number, iso

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000


def _bar(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "t": iso(row["start"]),
        "o": alpaca_number(row["open"]),
        "h": alpaca_number(row["high"]),
        "l": alpaca_number(row["low"]),
        "c": alpaca_number(row["close"]),
        "v": alpaca_number(row["volume"]),
        "n": int(row["trade_count"]),
        "vw": alpaca_number(row["vwap"]),
    }


def _trade(row: dict[str, Any]) -> dict[str, Any]:
    at = row["at"]
    return {
        "t": iso(at) if isinstance(at, dt.datetime) else at,
        "x": "V",
        "p": alpaca_number(row["price"]),
        "s": alpaca_number(row["qty"]),
        "c": ["@"],
        "i": int(row.get("id") or row.get("seq") or 0),
        "z": "C",
    }


def _quote(row: dict[str, Any], at: str) -> dict[str, Any]:
    return {
        "t": at,
        "ax": "V",
        "ap": alpaca_number(row["ask"]) or 0,
        "as": alpaca_number(row["ask_size"]) or 0,
        "bx": "V",
        "bp": alpaca_number(row["bid"]) or 0,
        "bs": alpaca_number(row["bid_size"]) or 0,
        "c": ["R"],
        "z": "C",
    }


def _ns_iso(ts_ns: int) -> str:
    from apps.marketdata.messages import iso_from_ns

    return iso_from_ns(ts_ns)


# The query parameters the views below read (documented for the OpenAPI schema).
SYMBOLS = [
    OpenApiParameter(
        "symbols", str, required=True, description="Comma-separated; crypto as BTC/USD"
    )
]
HISTORY = [
    *SYMBOLS,
    OpenApiParameter("start", OpenApiTypes.DATETIME, description="RFC 3339 or a date, inclusive"),
    OpenApiParameter("end", OpenApiTypes.DATETIME, description="RFC 3339 or a date, exclusive"),
    OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT:,}, default {DEFAULT_LIMIT:,}"),
    OpenApiParameter("page_token", str, description="next_page_token of the previous page"),
    OpenApiParameter("sort", str, enum=["asc", "desc"]),
]
BARS = [
    *HISTORY,
    OpenApiParameter(
        "timeframe",
        str,
        description="1Min to 59Min, 1Hour to 23Hour, nDay (venue days), 1Week, 1Month",
    ),
]


def _documented(parameters: list[OpenApiParameter], summary: str):
    return extend_schema(parameters=parameters, responses=OpenApiTypes.OBJECT, summary=summary)


class MarketDataApi(ApiView):
    """Any active API key; query parameters as the SDK sends them."""

    authentication_classes = [TradingKeyAuthentication, BrokerBasicAuthentication]
    permission_classes = [IsAnyApiKey]
    crypto = False

    def wire_to_symbol(self, symbol: str) -> str:
        return symbol.replace("/", "-") if self.crypto else symbol

    def symbol_to_wire(self, symbol: str) -> str:
        return symbol.replace("-", "/") if self.crypto else symbol

    def symbols(self, request: Request) -> list[str]:
        raw = request.query_params.get("symbols", "")
        symbols = [s.strip() for s in raw.split(",") if s.strip()]
        if not symbols:
            raise ValidationFailed("symbols_required", "symbols is required.", field="symbols")
        return [self.wire_to_symbol(s) for s in symbols]

    @staticmethod
    def time_param(request: Request, name: str) -> dt.datetime | None:
        value = request.query_params.get(name)
        if not value:
            return None
        try:
            if len(value) == 10:
                return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed("invalid_time", f"{name} is not RFC 3339.", field=name) from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    @staticmethod
    def paging(request: Request) -> tuple[int, int, bool]:
        try:
            limit = int(request.query_params.get("limit") or DEFAULT_LIMIT)
        except ValueError as exc:
            raise ValidationFailed("invalid_limit", "limit is a number.", field="limit") from exc
        limit = max(1, min(limit, MAX_LIMIT))
        token = request.query_params.get("page_token")
        offset = 0
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode())
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValidationFailed(
                    "invalid_page_token", "Bad page_token.", field="page_token"
                ) from exc
        descending = request.query_params.get("sort") == "desc"
        return limit, offset, descending

    @staticmethod
    def next_token(offset: int, limit: int, got: int) -> str | None:
        if got < limit:
            return None
        return base64.urlsafe_b64encode(str(offset + limit).encode()).decode()

    def grouped(self, rows: list[dict[str, Any]], shape) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(self.symbol_to_wire(row["symbol"]), []).append(shape(row))
        return out


class BarsApi(MarketDataApi):
    @_documented(BARS, "Bars per symbol, derived from the stored one-minute bars")
    def get(self, request: Request, **kwargs: Any) -> Response:
        symbols = self.symbols(request)
        limit, offset, descending = self.paging(request)
        try:
            rows = selectors.bars(
                symbols,
                timeframe=request.query_params.get("timeframe", "1Min"),
                start=self.time_param(request, "start"),
                end=self.time_param(request, "end"),
                limit=limit,
                offset=offset,
                descending=descending,
            )
        except ValueError as exc:
            raise ValidationFailed("invalid_timeframe", str(exc), field="timeframe") from exc
        return Response(
            {
                "bars": self.grouped(rows, _bar),
                "next_page_token": self.next_token(offset, limit, len(rows)),
            }
        )


class TradesApi(MarketDataApi):
    @_documented(HISTORY, "Trade prints per symbol, as committed")
    def get(self, request: Request, **kwargs: Any) -> Response:
        symbols = self.symbols(request)
        limit, offset, descending = self.paging(request)
        rows = selectors.trades(
            symbols,
            start=self.time_param(request, "start"),
            end=self.time_param(request, "end"),
            limit=limit,
            offset=offset,
            descending=descending,
        )
        return Response(
            {
                "trades": self.grouped(rows, _trade),
                "next_page_token": self.next_token(offset, limit, len(rows)),
            }
        )


class QuotesApi(MarketDataApi):
    """Quote history from the capped L1 stream; per symbol, ``limit`` each (tokens page only
    single-symbol requests)."""

    @_documented(HISTORY, "Quote (top of book) history per symbol")
    def get(self, request: Request, **kwargs: Any) -> Response:
        symbols = self.symbols(request)
        limit, _offset, descending = self.paging(request)
        after = request.query_params.get("page_token")
        after_id = base64.urlsafe_b64decode(after.encode()).decode() if after else None
        out: dict[str, list[dict[str, Any]]] = {}
        last_id = None
        for symbol in symbols:
            rows = selectors.quote_history(
                symbol,
                start=self.time_param(request, "start"),
                end=self.time_param(request, "end"),
                after_id=after_id if len(symbols) == 1 else None,
                limit=limit,
                descending=descending,
            )
            if rows:
                out[self.symbol_to_wire(symbol)] = [
                    _quote(q, _ns_iso(q["at_ns"])) for _i, q in rows
                ]
                last_id = rows[-1][0]
        token = None
        if len(symbols) == 1 and last_id and sum(len(v) for v in out.values()) >= limit:
            token = base64.urlsafe_b64encode(last_id.encode()).decode()
        return Response({"quotes": out, "next_page_token": token})


class LatestTradesApi(MarketDataApi):
    @_documented(SYMBOLS, "The latest trade of each symbol")
    def get(self, request: Request, **kwargs: Any) -> Response:
        out = {}
        for symbol in self.symbols(request):
            trade = selectors.latest_trade(symbol)
            if trade is not None:
                out[self.symbol_to_wire(symbol)] = _trade(trade)
        return Response({"trades": out})


class LatestQuotesApi(MarketDataApi):
    @_documented(SYMBOLS, "The latest quote of each symbol")
    def get(self, request: Request, **kwargs: Any) -> Response:
        out = {}
        for symbol in self.symbols(request):
            quote = selectors.latest_quote(symbol)
            if quote is not None:
                out[self.symbol_to_wire(symbol)] = _quote(quote, quote["at"])
        return Response({"quotes": out})


class LatestBarsApi(MarketDataApi):
    @_documented(SYMBOLS, "The latest one-minute bar of each symbol")
    def get(self, request: Request, **kwargs: Any) -> Response:
        out = {}
        for symbol in self.symbols(request):
            bar = selectors.latest_bar(symbol)
            if bar is not None:
                out[self.symbol_to_wire(symbol)] = _bar(bar)
        return Response({"bars": out})


class LatestOrderbooksApi(MarketDataApi):
    @_documented(SYMBOLS, "The current depth of each symbol")
    def get(self, request: Request, **kwargs: Any) -> Response:
        out = {}
        now = iso(dt.datetime.now(dt.UTC))
        for symbol in self.symbols(request):
            book = selectors.depth_snapshot(symbol)
            out[self.symbol_to_wire(symbol)] = {
                "t": now,
                "b": [{"p": alpaca_number(p), "s": alpaca_number(q)} for p, q, _c in book.bids],
                "a": [{"p": alpaca_number(p), "s": alpaca_number(q)} for p, q, _c in book.asks],
            }
        return Response({"orderbooks": out})


class SnapshotsApi(MarketDataApi):
    """Stocks answer ``{symbol: snapshot}``; crypto wraps it in ``{"snapshots": ...}``."""

    @_documented(SYMBOLS, "Latest trade, quote, minute bar, daily and previous daily bar")
    def get(self, request: Request, **kwargs: Any) -> Response:
        out = {}
        for symbol in self.symbols(request):
            trade = selectors.latest_trade(symbol)
            quote = selectors.latest_quote(symbol)
            minute = selectors.latest_bar(symbol)
            days = selectors.daily_bars(symbol, count=2)
            out[self.symbol_to_wire(symbol)] = {
                "latestTrade": _trade(trade) if trade else None,
                "latestQuote": _quote(quote, quote["at"]) if quote else None,
                "minuteBar": _bar(minute) if minute else None,
                "dailyBar": _bar(days[0]) if days else None,
                "prevDailyBar": _bar(days[1]) if len(days) > 1 else None,
            }
        return Response({"snapshots": out} if self.crypto else out)


def crypto(view: type[MarketDataApi]) -> type[MarketDataApi]:
    return type(f"Crypto{view.__name__}", (view,), {"crypto": True, "__module__": __name__})
