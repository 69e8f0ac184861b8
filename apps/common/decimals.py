"""Decimal helpers for money and quantities. Floats never enter these functions."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# Column shapes shared by every money and quantity field, so arithmetic never truncates silently.
MONEY_DIGITS = 20
MONEY_PLACES = 6
QUANTITY_DIGITS = 24
QUANTITY_PLACES = 9
PRICE_DIGITS = 20
PRICE_PLACES = 8

CENT = Decimal("0.01")


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole number of ``step`` (exact, no float)."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (value % step) == 0


def to_units(value: Decimal, step: Decimal) -> int:
    """``value`` expressed as an integer count of ``step`` (ticks or lots); it must be exact."""
    units = value / step
    if units != units.to_integral_value():
        raise ValueError(f"{value} is not a multiple of {step}")
    return int(units)


def from_units(units: int, step: Decimal) -> Decimal:
    return Decimal(units) * step


def round_money(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Banker's rounding to ``places`` (cents by default), as fee schedules specify."""
    return value.quantize(places, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> str:
    """A decimal for people: no trailing zeros and never exponent notation (100, not 1E+2)."""
    return f"{value.normalize():f}"
