"""Forms of the trader's desk. They parse what was typed (numbers, dates, a symbol) and nothing
more: whether the order is acceptable is the order service's answer, shown on the form through
``add_domain_error``."""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils import timezone

from apps.common.errors import DomainError
from apps.instruments.models import Instrument
from apps.orders.choices import OrderType, Side, TimeInForce

# The service names fields the way the REST API does; these are the ticket's names for them.
SERVICE_FIELDS = {
    "qty": "qty",
    "notional": "qty",
    "type": "type",
    "order_type": "type",
    "time_in_force": "time_in_force",
    "limit_price": "limit_price",
    "stop_price": "stop_price",
    "expire_at": "expire_at",
    "display_qty": "display_qty",
    "side": "side",
    "symbol": "symbol",
}


def _decimal(label: str, *, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=24,
        decimal_places=10,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )


class DomainErrorsMixin:
    def add_domain_error(self, error: DomainError) -> None:
        """Show a service refusal next to the field it names, else above the form."""
        field = SERVICE_FIELDS.get(error.field or "")
        if field not in self.fields:  # type: ignore[attr-defined]
            field = None
        self.add_error(field, forms.ValidationError(error.message, code=error.code))  # type: ignore[attr-defined]


class OrderTicketForm(DomainErrorsMixin, forms.Form):
    """Every order the engine supports: market, limit, stop, stop limit; day, GTC, GTD, IOC, FOK,
    at the open, at the close; iceberg, hidden and post-only limits."""

    symbol = forms.CharField(label="Symbol", max_length=40)
    side = forms.ChoiceField(label="Side", choices=Side.choices, widget=forms.RadioSelect)
    type = forms.ChoiceField(label="Order type", choices=OrderType.choices)
    time_in_force = forms.ChoiceField(label="Time in force", choices=TimeInForce.choices)
    qty = _decimal("Quantity")
    limit_price = _decimal("Limit price")
    stop_price = _decimal("Stop price")
    expire_at = forms.DateTimeField(
        label="Expires (UTC)",
        required=False,
        help_text="Good-till-date orders only.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    display_qty = _decimal("Display quantity", help_text="Iceberg: the part shown in the book.")
    hidden = forms.BooleanField(label="Hidden (not shown in the book)", required=False)
    post_only = forms.BooleanField(label="Post-only (never takes liquidity)", required=False)
    client_order_id = forms.CharField(widget=forms.HiddenInput, max_length=128)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # A fresh id per rendered ticket: a double click submits the same order once.
            self.initial.setdefault("client_order_id", f"web-{uuid.uuid4()}")

    def clean_symbol(self) -> Instrument:
        symbol = self.cleaned_data["symbol"].strip().upper()
        instrument = Instrument.objects.filter(symbol=symbol).select_related("venue").first()
        if instrument is None:
            raise forms.ValidationError(f"No instrument {symbol}.", code="unknown_symbol")
        return instrument

    def clean_expire_at(self) -> dt.datetime | None:
        value = self.cleaned_data.get("expire_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return value

    def service_arguments(self) -> dict:
        """The cleaned form as ``order_submit`` keyword arguments."""
        data = self.cleaned_data
        return {
            "instrument": data["symbol"],
            "side": data["side"],
            "order_type": data["type"],
            "time_in_force": data["time_in_force"],
            "quantity": data["qty"],
            "limit_price": data["limit_price"],
            "stop_price": data["stop_price"],
            "expire_at": data["expire_at"],
            "display_quantity": data["display_qty"],
            "hidden": data["hidden"],
            "post_only": data["post_only"],
            "client_order_id": data["client_order_id"],
        }


class ReplaceOrderForm(DomainErrorsMixin, forms.Form):
    """Cancel/replace: a new quantity and/or price. Empty keeps the order's value."""

    qty = _decimal("New quantity")
    limit_price = _decimal("New limit price")
    stop_price = _decimal("New stop price")


class InstrumentSearchForm(forms.Form):
    q = forms.CharField(label="Find an instrument", required=False, max_length=60)
