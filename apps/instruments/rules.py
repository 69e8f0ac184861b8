"""An instrument's order-entry rules, checked in one place for the web, the API and FIX."""

from __future__ import annotations

from decimal import Decimal

from apps.common.decimals import is_multiple_of, plain
from apps.common.errors import ValidationFailed
from apps.instruments.models import Instrument


def check_quantity(instrument: Instrument, quantity: Decimal) -> None:
    """Quantity is positive, at least the minimum and a whole number of lots."""
    if quantity <= 0:
        raise ValidationFailed(
            "invalid_quantity", "Quantity must be greater than zero.", field="qty"
        )
    if quantity < instrument.min_quantity:
        raise ValidationFailed(
            "below_min_quantity",
            f"{instrument.symbol} trades in at least {plain(instrument.min_quantity)}.",
            field="qty",
        )
    if not is_multiple_of(quantity, instrument.lot_size):
        raise ValidationFailed(
            "invalid_lot",
            f"{instrument.symbol} trades in lots of {plain(instrument.lot_size)}.",
            field="qty",
        )


def check_price(instrument: Instrument, price: Decimal, *, field: str = "limit_price") -> None:
    """Price is positive and on the instrument's tick grid."""
    if price <= 0:
        raise ValidationFailed("invalid_price", "Price must be greater than zero.", field=field)
    if not is_multiple_of(price, instrument.tick_size):
        raise ValidationFailed(
            "invalid_tick",
            f"{instrument.symbol} prices move in ticks of {plain(instrument.tick_size)}.",
            field=field,
        )


def price_band(instrument: Instrument) -> tuple[Decimal, Decimal] | None:
    """The static band (low, high) around the reference price, snapped inward to the tick grid."""
    if instrument.reference_price is None:
        return None
    width = instrument.reference_price * instrument.price_band_percent / Decimal(100)
    tick = instrument.tick_size
    low = ((instrument.reference_price - width) / tick).to_integral_value(
        rounding="ROUND_CEILING"
    ) * tick
    high = ((instrument.reference_price + width) / tick).to_integral_value(
        rounding="ROUND_FLOOR"
    ) * tick
    return max(low, tick), high


def check_price_band(instrument: Instrument, price: Decimal, *, field: str = "limit_price") -> None:
    band = price_band(instrument)
    if band is None:
        return
    low, high = band
    if not low <= price <= high:
        raise ValidationFailed(
            "price_outside_band",
            f"{instrument.symbol} accepts prices between {plain(low)} and {plain(high)} now.",
            field=field,
        )
