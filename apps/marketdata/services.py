"""Market data writes: committed trades into bars and prints, engine book events into depth and
quotes, the external feed into reference prices, data-quality alerts.

Two entry points feed everything:

- ``trades_committed(trades)``: the applier calls it after each committed batch. Trade prints
  must never reach a client before the record exists, so they start here and nowhere else.
- ``EngineBookProjector.apply(events)``: the ``run_marketdata`` process calls it for every
  output-stream batch of the matchers. Depth and quotes are ephemeral (docs/engine.md: "Depth
  and quotes may be published by the matcher directly"), so they go out without a commit.

Redis holds the latest state (keys in ``apps.marketdata.keys``) for REST and new subscribers;
Channels groups carry the changes (``apps.marketdata.messages`` describes the envelope).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis
from django.db import connection
from django.utils import timezone

from apps.marketdata import keys
from apps.marketdata.messages import (
    bar_message,
    depth_message,
    encode,
    envelope,
    iso,
    iso_from_ns,
    quote_message,
    trade_message,
)
from apps.marketdata.publisher import publisher
from apps.marketdata.selectors import prev_close
from apps.marketdata.specs import MarketSpec, spec_for, specs_for
from apps.matching.transport import redis_client

if TYPE_CHECKING:
    from apps.orders.applier import TradePrint

logger = logging.getLogger(__name__)

# L1 changes kept per symbol for GET /v2/stocks/quotes (a capped Redis stream; see docs).
QUOTE_HISTORY_MAXLEN = 20_000


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _dec(value: bytes | str | None) -> Decimal | None:
    text = _text(value)
    return Decimal(text) if text else None


# --- committed trades ---------------------------------------------------------------------

_BAR_UPSERT = """
INSERT INTO marketdata_bar (instrument_id, symbol, start, open, high, low, close, volume,
    notional, trade_count, vwap, first_seq, last_seq, updated_at)
VALUES {values}
ON CONFLICT (instrument_id, start) DO UPDATE SET
    high = GREATEST(marketdata_bar.high, EXCLUDED.high),
    low = LEAST(marketdata_bar.low, EXCLUDED.low),
    close = EXCLUDED.close,
    volume = marketdata_bar.volume + EXCLUDED.volume,
    notional = marketdata_bar.notional + EXCLUDED.notional,
    trade_count = marketdata_bar.trade_count + EXCLUDED.trade_count,
    vwap = round((marketdata_bar.notional + EXCLUDED.notional)
                 / (marketdata_bar.volume + EXCLUDED.volume), 8),
    last_seq = EXCLUDED.last_seq,
    updated_at = EXCLUDED.updated_at
WHERE EXCLUDED.first_seq > marketdata_bar.last_seq
RETURNING symbol, start, open, high, low, close, volume, trade_count, vwap
"""
_BAR_COLUMNS = 14


def trades_committed(trades: list[TradePrint]) -> None:
    """Bars, the latest-trade cache and the trade prints of a committed applier batch.

    Called by the applier after its commit, on its own thread: it must be cheap (one upsert
    statement, one Redis round trip, publishing is queued) and must never raise, because a
    market data failure must not stop orders from being applied. Failures are logged.
    Re-delivering the same trades is harmless: a bar ignores trades at or below its last
    engine sequence.
    """
    if not trades:
        return
    try:
        _trades_committed(trades)
    except Exception:
        logger.exception("market data: %s committed trades not recorded", len(trades))


def _minute(at: dt.datetime) -> dt.datetime:
    return at.replace(second=0, microsecond=0)


def _aggregate_minutes(
    trades: Iterable[TradePrint], specs: dict[str, MarketSpec]
) -> list[list[Any]]:
    """One row per (instrument, minute) of the batch, trades in sequence order."""
    rows: dict[tuple[str, dt.datetime], dict[str, Any]] = {}
    for trade in sorted(trades, key=lambda t: t.seq):
        spec = specs.get(trade.symbol)
        if spec is None:
            continue
        key = (trade.symbol, _minute(trade.at))
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "spec": spec,
                "open": trade.price,
                "high": trade.price,
                "low": trade.price,
                "close": trade.price,
                "volume": trade.qty,
                "notional": trade.price * trade.qty,
                "count": 1,
                "first_seq": trade.seq,
                "last_seq": trade.seq,
            }
            continue
        row["high"] = max(row["high"], trade.price)
        row["low"] = min(row["low"], trade.price)
        row["close"] = trade.price
        row["volume"] += trade.qty
        row["notional"] += trade.price * trade.qty
        row["count"] += 1
        row["last_seq"] = trade.seq
    now = timezone.now()
    params = []
    for (symbol, start), row in rows.items():
        vwap = (row["notional"] / row["volume"]).quantize(Decimal("0.00000001"))
        params.append(
            [
                row["spec"].instrument_id,
                symbol,
                start,
                row["open"],
                row["high"],
                row["low"],
                row["close"],
                row["volume"],
                row["notional"],
                row["count"],
                vwap,
                row["first_seq"],
                row["last_seq"],
                now,
            ]
        )
    return params


def bars_upsert(trades: Iterable[TradePrint]) -> list[dict[str, Any]]:
    """Fold trades into their 1-minute bars with one INSERT ... ON CONFLICT DO UPDATE; returns
    the bars as they now stand (only those that changed)."""
    trades = list(trades)
    specs = specs_for({t.symbol for t in trades})
    params = _aggregate_minutes(trades, specs)
    if not params:
        return []
    placeholders = ", ".join(["(" + ", ".join(["%s"] * _BAR_COLUMNS) + ")"] * len(params))
    with connection.cursor() as cursor:
        cursor.execute(_BAR_UPSERT.format(values=placeholders), [v for row in params for v in row])
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _trades_committed(trades: list[TradePrint]) -> None:
    specs = specs_for({t.symbol for t in trades})
    bars = bars_upsert(trades)
    by_symbol: dict[str, list[TradePrint]] = defaultdict(list)
    for trade in sorted(trades, key=lambda t: t.seq):
        if trade.symbol in specs:
            by_symbol[trade.symbol].append(trade)
    symbols = list(by_symbol)
    pipe = redis_client().pipeline(transaction=False)
    for symbol in symbols:
        last = by_symbol[symbol][-1]
        pipe.hset(
            keys.trade_key(symbol),
            mapping={
                "price": str(last.price),
                "qty": str(last.qty),
                "side": last.aggressor_side or "",
                "at": iso(last.at),
                "seq": last.seq,
            },
        )
    for symbol in symbols:
        pipe.hgetall(keys.quote_key(symbol))
    quotes = pipe.execute()[len(symbols) :]
    messages = []
    for symbol, quote in zip(symbols, quotes, strict=True):
        spec = specs[symbol]
        items = [
            [
                t.seq,
                encode(
                    trade_message(
                        spec, price=t.price, qty=t.qty, side=t.aggressor_side, at=iso(t.at)
                    )
                ),
            ]
            for t in by_symbol[symbol]
        ]
        messages.append(envelope("trades", symbol, items))
        last = by_symbol[symbol][-1]
        messages.append(_quote_envelope(spec, quote, last=last.price))
    for bar in bars:
        spec = specs[bar["symbol"]]
        messages.append(
            envelope("bars", spec.symbol, [[iso(bar["start"]), encode(bar_message(spec, bar))]])
        )
    publisher.publish(messages)


def _quote_envelope(
    spec: MarketSpec, quote: dict[bytes, bytes], *, last: Decimal | None
) -> tuple[str, dict[str, Any]]:
    message = quote_message(
        spec,
        bid=_dec(quote.get(b"bid")),
        bid_size=_dec(quote.get(b"bid_size")) or Decimal(0),
        ask=_dec(quote.get(b"ask")),
        ask_size=_dec(quote.get(b"ask_size")) or Decimal(0),
        last=last,
        prev_close=prev_close(spec),
        at=_text(quote.get(b"at")),
    )
    return envelope("quotes", spec.symbol, [[None, encode(message)]])


# --- engine book events -------------------------------------------------------------------


class EngineBookProjector:
    """Turns the matchers' ``book`` and ``top`` events into L2 depth (with a per-symbol
    sequence number) and L1 quotes: cached in Redis, published to the depth and quote groups.

    One projector per process. Depth sequence numbers live in the same Redis hash as the
    levels and are written in the same MULTI, so a snapshot (HGETALL) always pairs levels with
    the sequence they are current at. ``book`` events carry the level's absolute quantity, so
    applying an event twice (a replay after a crash) leaves the same book; clients only see
    the sequence move on.
    """

    def __init__(self, client: redis.Redis | None = None) -> None:
        self.client = client or redis_client()
        self.depth_seq: dict[str, int] = {}

    def _next_seq(self, symbol: str) -> int:
        seq = self.depth_seq.get(symbol)
        if seq is None:
            seq = int(self.client.hget(keys.depth_key(symbol), "seq") or 0)
        seq += 1
        self.depth_seq[symbol] = seq
        return seq

    def apply(self, events: Iterable[tuple]) -> int:
        """Project one batch; returns how many messages were queued for clients."""
        events = [e for e in events if e[0] in ("book", "top")]
        if not events:
            return 0
        specs = specs_for({e[3] for e in events})
        pipe = self.client.pipeline(transaction=True)
        depth_items: dict[str, list[list[Any]]] = defaultdict(list)
        tops: dict[str, tuple] = {}
        for event in events:
            symbol = event[3]
            spec = specs.get(symbol)
            if spec is None:
                continue
            if event[0] == "book":
                _kind, _seq, _ts, _sym, side, price_ticks, qty_lots, count = event
                seq = self._next_seq(symbol)
                price = spec.price(price_ticks)
                qty = spec.qty(qty_lots)
                field = f"{'b' if side == 'buy' else 'a'}:{spec.price_str(price)}"
                if qty_lots and count:
                    pipe.hset(keys.depth_key(symbol), field, f"{spec.qty_str(qty)}|{count}")
                else:
                    pipe.hdel(keys.depth_key(symbol), field)
                    qty, count = Decimal(0), 0
                message = depth_message(spec, seq=seq, side=side, price=price, qty=qty, count=count)
                depth_items[symbol].append([seq, encode(message)])
            else:
                tops[symbol] = event
        for symbol in depth_items:
            pipe.hset(keys.depth_key(symbol), "seq", self.depth_seq[symbol])
        quote_states = {}
        for symbol, event in tops.items():
            spec = specs[symbol]
            _kind, _seq, ts_ns, _sym, bid_ticks, bid_lots, ask_ticks, ask_lots = event
            state = {
                "bid": spec.price_str(spec.price(bid_ticks)) or "",
                "bid_size": spec.qty_str(spec.qty(bid_lots)),
                "ask": spec.price_str(spec.price(ask_ticks)) or "",
                "ask_size": spec.qty_str(spec.qty(ask_lots)),
                "at": iso_from_ns(ts_ns),
                "at_ns": ts_ns,
            }
            quote_states[symbol] = state
            pipe.hset(keys.quote_key(symbol), mapping=state)
            pipe.xadd(
                keys.quote_history_key(symbol),
                {k: state[k] for k in ("bid", "bid_size", "ask", "ask_size", "at_ns")},
                maxlen=QUOTE_HISTORY_MAXLEN,
                approximate=True,
            )
        for symbol in quote_states:
            pipe.hget(keys.trade_key(symbol), "price")
        results = pipe.execute()
        lasts = results[len(results) - len(quote_states) :] if quote_states else []
        messages = [envelope("depth", symbol, items) for symbol, items in depth_items.items()]
        for (symbol, state), last in zip(quote_states.items(), lasts, strict=True):
            encoded = {k.encode(): str(v).encode() for k, v in state.items()}
            messages.append(_quote_envelope(specs[symbol], encoded, last=_dec(last)))
        publisher.publish(messages)
        return sum(len(m["items"]) for _group, m in messages)


# --- reference prices and data quality ----------------------------------------------------


def reference_prices_store(prices: dict[str, Decimal]) -> int:
    """Write the latest reference prices (symbol -> price) to the instruments. One UPDATE per
    changed instrument, skipping rows whose price is already current; the feed handler calls
    this at most once a second, so marking to market and price bands follow the market without
    a write per tick. ``QuerySet.update`` bypasses the instrument's change history on purpose:
    a price tick is not a reference-data change anyone audits."""
    from apps.instruments.models import Instrument
    from apps.instruments.selectors import instruments_changed

    written = 0
    for symbol, price in prices.items():
        written += (
            Instrument.objects.filter(symbol=symbol)
            .exclude(reference_price=price)
            .update(reference_price=price)
        )
    if written:
        instruments_changed()  # order entry's copies carry the reference price (price bands)
    if prices:
        redis_client().hset(keys.reference_key(), mapping={s: str(p) for s, p in prices.items()})
    return written


def data_quality_alert(*, code: str, message: str) -> None:
    """Tell operations (the risk managers' alert list) that the market data is suspect.
    An alert already open with the same code is not repeated."""
    from apps.risk.choices import AlertKind, AlertStatus
    from apps.risk.models import RiskAlert

    if RiskAlert.objects.filter(
        kind=AlertKind.DATA_QUALITY, code=code, status=AlertStatus.OPEN
    ).exists():
        return
    RiskAlert.objects.create(kind=AlertKind.DATA_QUALITY, code=code, message=message[:300])
    logger.warning("data quality alert %s: %s", code, message)


def symbol_known(symbol: str) -> bool:
    return spec_for(symbol) is not None
