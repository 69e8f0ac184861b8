"""What the engine is told about an instrument: its ``InstrumentSpec`` in ticks.

The static band is the one order entry checks (``apps.instruments.rules.price_band``), so the
engine and the order service refuse the same prices. The dynamic band (limit up / limit down)
is a per asset class rule: trades that would print more than this percent away from the last
price halt the symbol instead of running the book. Bonds and options get none: bonds trade
rarely and in a narrow range quoted by dealers, option prices move by multiples of the
underlying's move, so a percent band would halt them on ordinary days.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from apps.common.decimals import to_units
from apps.instruments.choices import AssetClass
from apps.instruments.models import Instrument
from apps.instruments.rules import price_band
from apps.matching.engine import InstrumentSpec

# Percent, as the engine takes it (int or decimal string); None: no dynamic band.
DYNAMIC_BAND_PERCENT: dict[str, int | str | None] = {
    AssetClass.EQUITY: 5,
    AssetClass.ETF: 5,
    AssetClass.FUTURE: 5,
    AssetClass.CRYPTO: 10,
    AssetClass.OPTION: None,
    AssetClass.BOND: None,
}


def reference_ticks(instrument: Instrument) -> int | None:
    """The reference price in ticks, rounded to the nearest tick: it anchors bands and
    auction tie-breaks, and an official close need not sit on today's grid."""
    if instrument.reference_price is None:
        return None
    ticks = (instrument.reference_price / instrument.tick_size).to_integral_value(
        rounding=ROUND_HALF_EVEN
    )
    return max(int(ticks), 1)


def static_band_ticks(instrument: Instrument) -> tuple[int | None, int | None]:
    """(low, high) in ticks, or (None, None) without a reference price."""
    band = price_band(instrument)
    if band is None:
        return None, None
    low, high = band
    # price_band snaps both ends to the tick grid, so the conversion is exact.
    return to_units(low, instrument.tick_size), to_units(high, instrument.tick_size)


def instrument_spec(instrument: Instrument, *, session: str = "closed") -> InstrumentSpec:
    """The engine's view of ``instrument``; ``session`` is the state a new book starts in
    (registering a known symbol again updates the spec, never the session)."""
    band_low, band_high = static_band_ticks(instrument)
    return InstrumentSpec(
        symbol=instrument.symbol,
        instrument_id=instrument.pk,
        band_low=band_low,
        band_high=band_high,
        algorithm=str(instrument.matching_algorithm),
        self_trade_prevention=True,
        reference_price=reference_ticks(instrument),
        dynamic_band_pct=_percent(DYNAMIC_BAND_PERCENT.get(str(instrument.asset_class))),
        session=session,
    )


def _percent(value: int | str | Decimal | None) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    return str(value)
