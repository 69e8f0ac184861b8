"""Number formatting for the desk: Decimals as plain fixed-point text (never 2.3E+2), prices with
at least two decimals, money with a sign."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def num(value: object) -> str:
    """A quantity without trailing zeros: 10, 0.0025."""
    d = _decimal(value)
    if d is None:
        return ""
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def px(value: object) -> str:
    """A price with at least two decimals and no trailing zeros beyond them: 230.00, 0.0125."""
    d = _decimal(value)
    if d is None:
        return ""
    text = num(d)
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


@register.filter
def money(value: object) -> str:
    """Cents, with thousands separators: 12,345.67."""
    d = _decimal(value)
    if d is None:
        return ""
    return f"{d.quantize(CENT):,.2f}"


@register.filter
def signed_money(value: object) -> str:
    d = _decimal(value)
    if d is None:
        return ""
    return f"{d.quantize(CENT):+,.2f}"


@register.filter
def direction(value: object) -> str:
    """``up``, ``down`` or ``flat``: the CSS class of a change."""
    d = _decimal(value)
    if d is None or d == 0:
        return "flat"
    return "up" if d > 0 else "down"
