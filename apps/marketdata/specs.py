"""What market data needs to know about an instrument, cached per process.

Engine events carry ticks and lots; clients want Decimal strings on the instrument's grid. The
cache is filled from the database on first use of a symbol and refreshed on a miss, so an
instrument listed while the process runs is picked up by its first event.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.instruments.models import Instrument


@dataclass(frozen=True, slots=True)
class MarketSpec:
    instrument_id: int
    symbol: str
    asset_class: str
    tick_size: Decimal
    lot_size: Decimal
    shard: int
    timezone: str  # the venue's: a trading day starts at its midnight

    def today(self, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
        """The venue's date at ``now`` and the UTC instant its midnight was."""
        zone = ZoneInfo(self.timezone)
        day = now.astimezone(zone).date()
        return day, dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)

    def price(self, ticks: int | None) -> Decimal | None:
        return None if ticks is None else Decimal(ticks) * self.tick_size

    def qty(self, lots: int) -> Decimal:
        return Decimal(lots) * self.lot_size

    def price_str(self, value: Decimal | None) -> str | None:
        """A price as a string on the tick grid's precision (``230.10``, not ``230.1000``)."""
        if value is None:
            return None
        return str(value.quantize(self.tick_size.normalize()))

    @staticmethod
    def qty_str(value: Decimal) -> str:
        text = format(value.normalize(), "f")
        return text


_lock = threading.Lock()
_by_symbol: dict[str, MarketSpec] = {}


def _spec(instrument: Instrument) -> MarketSpec:
    return MarketSpec(
        instrument_id=instrument.pk,
        symbol=instrument.symbol,
        asset_class=instrument.asset_class,
        tick_size=instrument.tick_size,
        lot_size=instrument.lot_size,
        shard=instrument.shard,
        timezone=instrument.venue.timezone,
    )


def spec_for(symbol: str) -> MarketSpec | None:
    """The spec of ``symbol`` or None if no such instrument (one query on a miss)."""
    spec = _by_symbol.get(symbol)
    if spec is not None:
        return spec
    instrument = Instrument.objects.filter(symbol=symbol).select_related("venue").first()
    if instrument is None:
        return None
    spec = _spec(instrument)
    with _lock:
        _by_symbol[symbol] = spec
    return spec


def specs_for(symbols: set[str]) -> dict[str, MarketSpec]:
    """Specs of many symbols with at most one query."""
    missing = [s for s in symbols if s not in _by_symbol]
    if missing:
        with _lock:
            for instrument in Instrument.objects.filter(symbol__in=missing).select_related("venue"):
                _by_symbol[instrument.symbol] = _spec(instrument)
    return {s: _by_symbol[s] for s in symbols if s in _by_symbol}


def clear() -> None:
    """Forget everything (tests create instruments with recycled ids)."""
    with _lock:
        _by_symbol.clear()
        _prev_close.clear()


_prev_close: dict[tuple[str, dt.date], Decimal | None] = {}


def remember_prev_close(symbol: str, day: dt.date, value: Decimal | None) -> None:
    with _lock:
        _prev_close[(symbol, day)] = value


def cached_prev_close(symbol: str, day: dt.date) -> tuple[bool, Decimal | None]:
    key = (symbol, day)
    if key in _prev_close:
        return True, _prev_close[key]
    return False, None
