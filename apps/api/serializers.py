"""Input and output serializers of the partner API, in the SDK's field names and types.

Output: decimals are strings (``"230.5"``), timestamps UTC ISO 8601 with microseconds. Fields the
SDK models do not know (``tick_size``, ``reject_reason``...) are added beside its fields: the
SDK's pydantic models ignore extra keys, so they reach raw-JSON clients without breaking it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api import selectors
from apps.api.choices import BankAccountType, TransferDirection
from apps.api.selectors import ALPACA_ASSET_CLASS, CashJournal, asset_id_for, exchange_name
from apps.clients.choices import AccountType
from apps.orders.choices import OrderType, Side, TimeInForce
from apps.orders.models import Order


def decimal_string(value: Decimal | int | str | None) -> str | None:
    """``Decimal('100.000000000')`` -> ``'100'``; never scientific notation, never a float."""
    if value is None:
        return None
    value = Decimal(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@extend_schema_field(OpenApiTypes.STR)
class DecimalString(serializers.Field):
    """A Decimal in and out as a string (a JSON number is accepted on input, as the SDK sends
    floats, and converted through its shortest repr, never through binary float arithmetic)."""

    default_error_messages = {"invalid": "A number is required."}

    def __init__(self, *, min_value: Decimal | None = None, **kwargs: Any) -> None:
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str | None:
        return decimal_string(value)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        try:
            value = Decimal(str(data))
        except ArithmeticError:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if self.min_value is not None and value < self.min_value:
            raise serializers.ValidationError(f"Must be at least {self.min_value}.")
        return value


class InputSerializer(serializers.Serializer):
    """A request body or query. DRF deep-copies every declared field for each serializer
    instance, and a field's deep copy is a fresh ``__init__`` (a choice field rebuilds its
    choices): on ``POST /v2/orders`` that was a tenth of the request's CPU. A shallow copy is
    enough for a field without children: binding sets attributes on the copy only, and what the
    copies share (choices, error messages, validators) is only read. Fields with children
    (lists, dicts, nested serializers) are still deep-copied, so each child is bound to its own
    parent."""

    def get_fields(self) -> dict[str, serializers.Field]:
        parents = _with_children(type(self))
        return {
            name: copy.deepcopy(field) if name in parents else _shallow_copy(field)
            for name, field in self._declared_fields.items()
        }


@functools.cache
def _with_children(serializer: type[InputSerializer]) -> frozenset[str]:
    """The declared fields that have children (lists, dicts, nested serializers), once per
    class: the declared fields are the class's, fixed when it is defined."""
    return frozenset(
        name
        for name, field in serializer._declared_fields.items()
        if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")
    )


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    # What copy.copy does for a plain object, without its generic __reduce_ex__ round trip.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


# ------------------------------------------------------------------------------------------
# Orders


class OrderSubmitInputSerializer(InputSerializer):
    """``POST /v2/orders`` as the SDK sends it (``OrderRequest.to_request_fields``), plus our
    extensions for iceberg, hidden, post-only and self-trade prevention."""

    symbol = serializers.CharField(max_length=40)
    qty = DecimalString(required=False, allow_null=True)
    notional = DecimalString(required=False, allow_null=True)
    side = serializers.ChoiceField(choices=Side.choices)
    type = serializers.ChoiceField(choices=OrderType.choices)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices)
    limit_price = DecimalString(required=False, allow_null=True)
    stop_price = DecimalString(required=False, allow_null=True)
    client_order_id = serializers.CharField(max_length=128, required=False, allow_null=True)
    extended_hours = serializers.BooleanField(required=False, default=False)
    order_class = serializers.ChoiceField(
        choices=["simple", ""], required=False, allow_null=True, default="simple"
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    display_qty = DecimalString(required=False, allow_null=True)
    hidden = serializers.BooleanField(required=False, default=False)
    post_only = serializers.BooleanField(required=False, default=False)
    self_trade_prevention = serializers.CharField(required=False, allow_null=True)
    # Fields of order kinds we do not offer: refused with a clear message instead of ignored.
    trail_price = DecimalString(required=False, allow_null=True)
    trail_percent = DecimalString(required=False, allow_null=True)
    legs = serializers.ListField(required=False, allow_null=True)
    take_profit = serializers.DictField(required=False, allow_null=True)
    stop_loss = serializers.DictField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("trail_price", "trail_percent", "legs", "take_profit", "stop_loss"):
            if attrs.get(name):
                raise serializers.ValidationError(
                    {name: "Only simple orders are supported (no bracket, OCO, OTO, trailing)."}
                )
        if attrs.get("order_class") not in (None, "", "simple"):
            raise serializers.ValidationError({"order_class": "Only simple orders."})
        # Good-till-date: Alpaca has no ``gtd``; a gtc order with ``expires_at`` is one.
        if attrs.get("time_in_force") == TimeInForce.GTC and attrs.get("expires_at"):
            attrs["time_in_force"] = TimeInForce.GTD
        return attrs


class OrderReplaceInputSerializer(InputSerializer):
    qty = DecimalString(required=False, allow_null=True)
    time_in_force = serializers.ChoiceField(
        choices=TimeInForce.choices, required=False, allow_null=True
    )
    limit_price = DecimalString(required=False, allow_null=True)
    stop_price = DecimalString(required=False, allow_null=True)
    trail = DecimalString(required=False, allow_null=True)
    client_order_id = serializers.CharField(max_length=128, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("trail") is not None:
            raise serializers.ValidationError({"trail": "Trailing stops are not supported."})
        return attrs


class AssetClassInputSerializer(InputSerializer):
    asset_class = serializers.CharField(
        required=False,
        help_text="Comma-separated: us_equity, us_option, crypto (the default), bond, future",
    )


class OrderListInputSerializer(AssetClassInputSerializer):
    status = serializers.ChoiceField(choices=["open", "closed", "all"], default="open")
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    after = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    direction = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    nested = serializers.BooleanField(required=False, default=False)
    side = serializers.ChoiceField(choices=Side.choices, required=False)
    symbols = serializers.CharField(required=False)

    def validate_symbols(self, value: str) -> list[str]:
        return [s.strip().upper() for s in value.split(",") if s.strip()]


class OrderOutputSerializer(serializers.Serializer):
    """Our Order in the SDK's Order shape (``alpaca.trading.models.Order``)."""

    def to_representation(self, order: Order) -> dict[str, Any]:
        instrument = order.instrument
        replaced_by = getattr(order, "replaced_by", None)
        # Alpaca has no ``gtd``: a good-till-date order is gtc with ``expires_at``.
        tif = TimeInForce.GTC if order.time_in_force == TimeInForce.GTD else order.time_in_force
        return {
            "id": str(order.pk),
            "client_order_id": order.client_order_id,
            "created_at": _ts(order.created_at),
            "updated_at": _ts(order.updated_at),
            "submitted_at": _ts(order.submitted_at or order.created_at),
            "filled_at": _ts(order.filled_at),
            "expired_at": _ts(order.expired_at),
            "expires_at": _ts(order.expire_at),
            "canceled_at": _ts(order.canceled_at),
            "failed_at": _ts(order.rejected_at),
            "replaced_at": _ts(order.replaced_at),
            "replaced_by": str(replaced_by.pk) if replaced_by is not None else None,
            "replaces": str(order.replaces_id) if order.replaces_id else None,
            "asset_id": str(asset_id_for(instrument.symbol)),
            "symbol": instrument.symbol,
            "asset_class": ALPACA_ASSET_CLASS.get(instrument.asset_class, instrument.asset_class),
            "notional": decimal_string(order.notional),
            "qty": decimal_string(order.quantity),
            "filled_qty": decimal_string(order.filled_quantity),
            "filled_avg_price": decimal_string(order.average_fill_price),
            "order_class": "simple",
            "order_type": order.order_type,
            "type": order.order_type,
            "side": order.side,
            "position_intent": None,
            "time_in_force": tif,
            "limit_price": decimal_string(order.limit_price),
            "stop_price": decimal_string(order.stop_price),
            "status": order.status,
            "extended_hours": False,  # not offered: order_submit refuses it
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "commission": None,
            # Our extensions
            "account_id": str(order.account_id),
            "display_qty": decimal_string(order.display_quantity),
            "hidden": order.hidden,
            "post_only": order.post_only,
            "self_trade_prevention": order.self_trade_prevention,
            "reject_reason": order.reject_reason or None,
            "reject_message": order.reject_message or None,
            "source": order.source,
        }


def _ts(value: dt.datetime | None) -> str | None:
    """UTC, ISO 8601, microseconds, ``Z``: ``2026-11-27T14:30:00.123456Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------------------------------
# Assets and positions


class AssetListInputSerializer(AssetClassInputSerializer):
    status = serializers.ChoiceField(choices=["active", "inactive"], required=False)
    exchange = serializers.CharField(required=False)
    attributes = serializers.CharField(required=False)


class AssetOutputSerializer(serializers.Serializer):
    """An instrument in the SDK's Asset shape, plus our instrument terms."""

    def to_representation(self, instrument: Any) -> dict[str, Any]:
        price = instrument.reference_price
        band = instrument.price_band_percent
        details: dict[str, Any] = {
            "asset_class": instrument.asset_class,
            "venue": instrument.venue.mic,
            "currency": instrument.currency,
            "isin": instrument.isin or None,
        }
        if instrument.asset_class == "bond":
            details.update(
                coupon_rate=decimal_string(instrument.coupon_rate),
                maturity_date=instrument.maturity_date.isoformat(),
                face_value=decimal_string(instrument.face_value),
                day_count=instrument.day_count,
            )
        if instrument.asset_class in ("option", "future"):
            details["expiry_date"] = instrument.expiry_date.isoformat()
        if instrument.asset_class == "option":
            details.update(
                underlying_symbol=instrument.underlying.symbol,
                strike_price=decimal_string(instrument.strike_price),
                option_type=instrument.option_type,
                exercise_style=instrument.exercise_style,
            )
        if instrument.asset_class == "future":
            details.update(
                initial_margin=decimal_string(instrument.initial_margin),
                maintenance_margin=decimal_string(instrument.maintenance_margin),
            )
        return {
            "id": str(asset_id_for(instrument.symbol)),
            "class": ALPACA_ASSET_CLASS.get(instrument.asset_class, instrument.asset_class),
            "exchange": exchange_name(instrument.venue.mic),
            "symbol": instrument.symbol,
            "name": instrument.name,
            "status": "active",
            "tradable": instrument.tradable,
            "marginable": instrument.marginable,
            "shortable": instrument.shortable,
            "easy_to_borrow": instrument.easy_to_borrow,
            "fractionable": instrument.fractionable,
            "min_order_size": decimal_string(instrument.min_quantity),
            "min_trade_increment": decimal_string(instrument.lot_size),
            "price_increment": decimal_string(instrument.tick_size),
            "maintenance_margin_requirement": 25 if instrument.marginable else 100,
            "attributes": [],
            # Our extensions
            "tick_size": decimal_string(instrument.tick_size),
            "lot_size": decimal_string(instrument.lot_size),
            "multiplier": decimal_string(instrument.multiplier),
            "reference_price": decimal_string(price),
            "price_band": {
                "percent": decimal_string(band),
                "low": decimal_string(price * (1 - band / 100)) if price else None,
                "high": decimal_string(price * (1 + band / 100)) if price else None,
            },
            "asset_class_details": details,
        }


class PositionOutputSerializer(serializers.Serializer):
    """An open position in the SDK's Position shape, marked at the reference price."""

    def to_representation(self, figures: selectors.PositionFigures) -> dict[str, Any]:
        position = figures.position
        instrument = figures.instrument
        price = decimal_string(figures.current_price)
        return {
            "asset_id": str(asset_id_for(instrument.symbol)),
            "symbol": instrument.symbol,
            "exchange": exchange_name(instrument.venue.mic),
            "asset_class": ALPACA_ASSET_CLASS.get(instrument.asset_class, instrument.asset_class),
            "asset_marginable": instrument.marginable,
            "avg_entry_price": decimal_string(position.average_cost),
            "qty": decimal_string(position.quantity),
            "side": "long" if position.quantity > 0 else "short",
            "market_value": decimal_string(figures.market_value),
            "cost_basis": decimal_string(figures.cost_basis),
            "unrealized_pl": decimal_string(figures.unrealized_pl),
            "unrealized_plpc": decimal_string(round(figures.unrealized_plpc, 6)),
            "unrealized_intraday_pl": "0",
            "unrealized_intraday_plpc": "0",
            "current_price": price,
            "lastday_price": price,
            "change_today": "0",
            "qty_available": decimal_string(
                figures.qty_available if position.quantity > 0 else -figures.qty_available
            ),
            # Our extensions
            "account_id": str(position.account_id),
            "realized_pl": decimal_string(position.realized_pnl),
            "multiplier": decimal_string(instrument.multiplier),
        }


class ClosePositionInputSerializer(InputSerializer):
    qty = DecimalString(required=False, min_value=Decimal(0))
    percentage = DecimalString(required=False, min_value=Decimal(0))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("qty") is not None and attrs.get("percentage") is not None:
            raise serializers.ValidationError("Give qty or percentage, not both.")
        percentage = attrs.get("percentage")
        if percentage is not None and not Decimal(0) < percentage <= Decimal(100):
            raise serializers.ValidationError({"percentage": "Must be in (0, 100]."})
        return attrs


class CloseAllPositionsInputSerializer(InputSerializer):
    cancel_orders = serializers.BooleanField(required=False, default=False)


# ------------------------------------------------------------------------------------------
# Account


class TradeAccountOutputSerializer(serializers.Serializer):
    """The SDK's TradeAccount (and the broker API's, which adds the ``last_*`` and
    ``cash_withdrawable`` fields)."""

    def to_representation(self, figures: selectors.TradeAccountFigures) -> dict[str, Any]:
        account = figures.account
        blocked = not account.is_tradable
        s = decimal_string
        equity = s(figures.equity)
        permissions = getattr(account, "permissions", None)
        option_level = permissions.option_level if permissions is not None else 0
        return {
            "id": str(account.pk),
            "account_number": account.number,
            "status": account.status,
            "crypto_status": account.status,
            "currency": account.base_currency,
            "buying_power": s(figures.buying_power),
            "regt_buying_power": s(figures.buying_power),
            "daytrading_buying_power": None,
            "non_marginable_buying_power": s(figures.non_marginable_buying_power),
            "options_buying_power": s(figures.non_marginable_buying_power),
            "cash": s(figures.cash),
            "accrued_fees": "0",
            "pending_transfer_out": s(figures.pending_transfer_out),
            "pending_transfer_in": s(figures.pending_transfer_in),
            "portfolio_value": equity,
            "pattern_day_trader": False,
            "trading_blocked": blocked,
            "transfers_blocked": blocked,
            "account_blocked": blocked,
            "created_at": _ts(account.created_at),
            "trade_suspended_by_user": False,
            "multiplier": s(figures.multiplier),
            "shorting_enabled": bool(permissions and permissions.short_selling),
            "equity": equity,
            "last_equity": equity,
            "long_market_value": s(figures.long_market_value),
            "short_market_value": s(figures.short_market_value),
            "initial_margin": s(figures.initial_margin),
            "maintenance_margin": s(figures.maintenance_margin),
            "last_maintenance_margin": s(figures.maintenance_margin),
            "sma": "0",
            "daytrade_count": None,
            "options_approved_level": option_level,
            "options_trading_level": option_level,
            # Broker API TradeAccount
            "cash_withdrawable": s(figures.cash_withdrawable),
            "cash_transferable": s(figures.cash_withdrawable),
            "previous_close": None,
            "last_long_market_value": s(figures.long_market_value),
            "last_short_market_value": s(figures.short_market_value),
            "last_cash": s(figures.cash),
            "last_initial_margin": s(figures.initial_margin),
            "last_regt_buying_power": s(figures.buying_power),
            "last_buying_power": s(figures.buying_power),
            "clearing_broker": "SELF",
            # Our extensions
            "account_type": account.account_type,
            "cash_settled": s(figures.settled_cash),
            "cash_reserved": s(figures.reserved),
        }


# ------------------------------------------------------------------------------------------
# Clock, calendar, activities


class CalendarInputSerializer(InputSerializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


def clock_representation(clock: dict[str, Any]) -> dict[str, Any]:
    """Alpaca reports the clock in the venue's time (US Eastern) with its offset."""
    return {
        "timestamp": clock["timestamp"].isoformat(),
        "is_open": clock["is_open"],
        "next_open": clock["next_open"].isoformat() if clock["next_open"] else None,
        "next_close": clock["next_close"].isoformat() if clock["next_close"] else None,
    }


def calendar_day_representation(day: selectors.MarketDay) -> dict[str, Any]:
    return {
        "date": day.date.isoformat(),
        "open": f"{day.open:%H:%M}",
        "close": f"{day.close:%H:%M}",
        "session_open": f"{day.session_open:%H%M}",
        "session_close": f"{day.session_close:%H%M}",
        "settlement_date": None,
    }


class ActivitiesInputSerializer(InputSerializer):
    account_id = serializers.UUIDField(required=False)
    activity_types = serializers.CharField(required=False)
    date = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    after = serializers.DateTimeField(required=False)
    direction = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=100)
    page_token = serializers.CharField(required=False)

    def validate_activity_types(self, value: str) -> list[str]:
        return [t.strip().upper() for t in value.split(",") if t.strip()]


class TradeEventsInputSerializer(InputSerializer):
    """The SDK's ``GetEventsRequest`` (and ``account_id``), with Alpaca's rules: without
    ``since`` or ``since_id`` the stream is live only; ``since`` and ``since_id`` exclude each
    other; ``until`` needs ``since``, ``until_id`` needs ``since_id``, and either ends it."""

    account_id = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    since_id = serializers.IntegerField(required=False, min_value=0)
    until_id = serializers.IntegerField(required=False, min_value=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "since" in attrs and "since_id" in attrs:
            raise serializers.ValidationError("give since or since_id, not both")
        for end, start in (("until", "since"), ("until_id", "since_id")):
            if end in attrs and start not in attrs:
                raise serializers.ValidationError(f"{end} needs {start}")
        return attrs


def activity_representation(activity: selectors.Activity) -> dict[str, Any]:
    base = {
        "id": activity.id,
        "account_id": str(activity.account_id),
        "activity_type": activity.activity_type,
    }
    if activity.execution is not None:
        execution = activity.execution
        order = execution.order
        return {
            **base,
            "transaction_time": _ts(execution.executed_at),
            "type": "fill" if order.filled_quantity >= order.quantity else "partial_fill",
            "price": decimal_string(execution.price),
            "qty": decimal_string(execution.quantity),
            "side": execution.side,
            "symbol": execution.instrument.symbol,
            "leaves_qty": decimal_string(order.quantity - order.filled_quantity),
            "order_id": str(order.pk),
            "cum_qty": decimal_string(order.filled_quantity),
            "order_status": order.status,
            "commission": decimal_string(execution.commission),
            "regulatory_fees": decimal_string(execution.regulatory_fees),
            "settle_date": execution.settle_date.isoformat(),
        }
    posting = activity.posting
    assert posting is not None
    return {
        **base,
        "date": posting.journal.created_at.date().isoformat(),
        "net_amount": decimal_string(posting.amount),
        "description": posting.journal.description,
        "status": "executed",
        "symbol": None,
        "qty": None,
        "price": None,
        "per_share_amount": None,
        "currency": posting.asset,
    }


# ------------------------------------------------------------------------------------------
# Broker API: accounts


class ContactInputSerializer(InputSerializer):
    email_address = serializers.EmailField()
    phone_number = serializers.CharField(max_length=40, required=False, allow_null=True)
    street_address = serializers.ListField(child=serializers.CharField(max_length=200))
    unit = serializers.CharField(required=False, allow_null=True)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(required=False, allow_null=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_null=True)
    country = serializers.CharField(max_length=3, required=False, allow_null=True)


class IdentityInputSerializer(InputSerializer):
    given_name = serializers.CharField(max_length=100)
    middle_name = serializers.CharField(max_length=100, required=False, allow_null=True)
    family_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.CharField()
    tax_id = serializers.CharField(max_length=40, required=False, allow_null=True)
    tax_id_type = serializers.CharField(required=False, allow_null=True)
    country_of_citizenship = serializers.CharField(required=False, allow_null=True)
    country_of_birth = serializers.CharField(required=False, allow_null=True)
    country_of_tax_residence = serializers.CharField(max_length=3)
    funding_source = serializers.ListField(child=serializers.CharField(), required=False)
    annual_income_min = serializers.FloatField(required=False, allow_null=True)
    annual_income_max = serializers.FloatField(required=False, allow_null=True)
    liquid_net_worth_min = serializers.FloatField(required=False, allow_null=True)
    liquid_net_worth_max = serializers.FloatField(required=False, allow_null=True)
    total_net_worth_min = serializers.FloatField(required=False, allow_null=True)
    total_net_worth_max = serializers.FloatField(required=False, allow_null=True)


class DisclosuresInputSerializer(InputSerializer):
    is_control_person = serializers.BooleanField(required=False, allow_null=True)
    is_affiliated_exchange_or_finra = serializers.BooleanField(required=False, allow_null=True)
    is_politically_exposed = serializers.BooleanField(required=False, allow_null=True)
    immediate_family_exposed = serializers.BooleanField()
    employment_status = serializers.CharField(required=False, allow_null=True)
    employer_name = serializers.CharField(required=False, allow_null=True)
    employer_address = serializers.CharField(required=False, allow_null=True)
    employment_position = serializers.CharField(required=False, allow_null=True)


class AgreementInputSerializer(InputSerializer):
    agreement = serializers.ChoiceField(
        choices=[
            "margin_agreement",
            "account_agreement",
            "customer_agreement",
            "crypto_agreement",
            "options_agreement",
        ]
    )
    signed_at = serializers.CharField()
    ip_address = serializers.CharField()
    revision = serializers.CharField(required=False, allow_null=True)


class AccountCreateInputSerializer(InputSerializer):
    account_type = serializers.CharField(required=False, allow_null=True)
    contact = ContactInputSerializer()
    identity = IdentityInputSerializer()
    disclosures = DisclosuresInputSerializer()
    agreements = AgreementInputSerializer(many=True)
    trusted_contact = serializers.DictField(required=False, allow_null=True)
    currency = serializers.ChoiceField(choices=["USD"], required=False, default="USD")
    enabled_assets = serializers.ListField(child=serializers.CharField(), required=False)
    documents = serializers.ListField(required=False)


class AccountUpdateInputSerializer(InputSerializer):
    contact = serializers.DictField(required=False)
    identity = serializers.DictField(required=False)
    disclosures = serializers.DictField(required=False)
    trusted_contact = serializers.DictField(required=False)


class AccountListInputSerializer(InputSerializer):
    query = serializers.CharField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    status = serializers.CharField(required=False)
    sort = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    entities = serializers.CharField(required=False)


class BrokerAccountOutputSerializer(serializers.Serializer):
    """A partner's account in the SDK's broker Account shape."""

    def __init__(self, *args: Any, entities: set[str] | None = None, **kwargs: Any) -> None:
        self.entities = entities
        super().__init__(*args, **kwargs)

    def to_representation(self, account: Any) -> dict[str, Any]:
        client = account.client
        profile = getattr(account, "partner_profile", None)
        given, _, family = client.legal_name.rpartition(" ")
        contact = {
            "email_address": client.email,
            "phone_number": client.phone or None,
            "street_address": [client.street_address] if client.street_address else [],
            "city": client.city,
            "postal_code": client.postal_code or None,
            "country": client.country,
            **(profile.contact if profile else {}),
        }
        identity = {
            "given_name": given or client.legal_name,
            "family_name": family,
            "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else None,
            "country_of_tax_residence": client.country,
            **(profile.identity if profile else {}),
        }
        body: dict[str, Any] = {
            "id": str(account.pk),
            "account_number": account.number,
            "status": account.status,
            "crypto_status": account.status,
            "currency": account.base_currency,
            "last_equity": decimal_string(getattr(account, "api_last_equity", None) or 0),
            "created_at": _ts(account.created_at),
            "account_type": "trading",
            "kyc_results": {"summary": "pass" if client.kyc_status == "approved" else None},
            "enabled_assets": (profile.enabled_assets if profile else None) or ["us_equity"],
            # Our extension: cash or margin
            "trading_type": "margin" if account.account_type == AccountType.MARGIN else "cash",
        }
        entities = self.entities
        if entities is None or "contact" in entities:
            body["contact"] = contact
        if entities is None or "identity" in entities:
            body["identity"] = identity
        if entities is None or "disclosures" in entities:
            body["disclosures"] = (profile.disclosures if profile else None) or {
                "immediate_family_exposed": False
            }
        if entities is None or "agreements" in entities:
            body["agreements"] = profile.agreements if profile else []
        wants_trusted = entities is None or "trusted_contact" in entities
        if wants_trusted and profile is not None and profile.trusted_contact:
            body["trusted_contact"] = profile.trusted_contact
        return body


# ------------------------------------------------------------------------------------------
# Broker API: funding


class AchRelationshipInputSerializer(InputSerializer):
    account_owner_name = serializers.CharField(max_length=200)
    bank_account_type = serializers.ChoiceField(choices=BankAccountType.choices)
    bank_account_number = serializers.RegexField(r"^\d{4,17}$")
    bank_routing_number = serializers.RegexField(r"^\d{9}$")
    nickname = serializers.CharField(max_length=100, required=False, allow_blank=True)
    processor_token = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.pop("processor_token", None):
            raise serializers.ValidationError({"processor_token": "Plaid is not supported."})
        return attrs


class AchRelationshipOutputSerializer(serializers.Serializer):
    def to_representation(self, relationship: Any) -> dict[str, Any]:
        return {
            "id": str(relationship.pk),
            "account_id": str(relationship.account_id),
            "created_at": _ts(relationship.created_at),
            "updated_at": _ts(relationship.updated_at),
            "status": relationship.status,
            "account_owner_name": relationship.account_owner_name,
            "bank_account_type": relationship.bank_account_type,
            "bank_account_number": relationship.bank_account_number,
            "bank_routing_number": relationship.bank_routing_number,
            "nickname": relationship.nickname or None,
            "processor_token": None,
        }


class TransferInputSerializer(InputSerializer):
    transfer_type = serializers.ChoiceField(choices=["ach", "wire"], default="ach")
    relationship_id = serializers.UUIDField(required=False)
    bank_id = serializers.UUIDField(required=False)
    amount = DecimalString(min_value=Decimal("0.01"))
    direction = serializers.ChoiceField(choices=TransferDirection.choices)
    timing = serializers.ChoiceField(choices=["immediate"], default="immediate")
    fee_payment_method = serializers.CharField(required=False)
    additional_information = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["transfer_type"] != "ach":
            raise serializers.ValidationError({"transfer_type": "Only ACH transfers."})
        if not attrs.get("relationship_id"):
            raise serializers.ValidationError({"relationship_id": "This field is required."})
        if attrs["amount"] != attrs["amount"].quantize(Decimal("0.01")):
            raise serializers.ValidationError({"amount": "At most two decimal places."})
        return attrs


class TransferListInputSerializer(InputSerializer):
    direction = serializers.ChoiceField(choices=TransferDirection.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)


class TransferOutputSerializer(serializers.Serializer):
    def to_representation(self, transfer: Any) -> dict[str, Any]:
        amount = decimal_string(transfer.amount)
        return {
            "id": str(transfer.pk),
            "account_id": str(transfer.account_id),
            "relationship_id": str(transfer.relationship_id),
            "created_at": _ts(transfer.created_at),
            "updated_at": _ts(transfer.updated_at),
            "expires_at": None,
            "amount": amount,
            "requested_amount": amount,
            "fee": "0",
            "fee_payment_method": "user",
            "type": transfer.transfer_type,
            "status": transfer.status,
            "direction": transfer.direction,
            "reason": transfer.reason or None,
            "currency": transfer.currency,
        }


class JournalInputSerializer(InputSerializer):
    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    entry_type = serializers.ChoiceField(choices=["JNLC", "JNLS"])
    amount = DecimalString(required=False, min_value=Decimal("0.01"))
    symbol = serializers.CharField(required=False)
    qty = DecimalString(required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=250)
    currency = serializers.ChoiceField(choices=["USD"], default="USD")
    transmitter_name = serializers.CharField(required=False)
    transmitter_account_number = serializers.CharField(required=False)
    transmitter_address = serializers.CharField(required=False)
    transmitter_financial_institution = serializers.CharField(required=False)
    transmitter_timestamp = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["entry_type"] != "JNLC":
            raise serializers.ValidationError({"entry_type": "Only cash journals (JNLC)."})
        if attrs.get("amount") is None:
            raise serializers.ValidationError({"amount": "A cash journal needs an amount."})
        return attrs


def journal_representation(journal: CashJournal) -> dict[str, Any]:
    """A cash journal in the SDK's Journal shape; ours execute at once."""
    return {
        "id": str(journal.journal_id),
        "from_account": str(journal.from_account_id),
        "to_account": str(journal.to_account_id),
        "entry_type": "JNLC",
        "status": "executed",
        "net_amount": decimal_string(journal.amount),
        "currency": journal.currency,
        "description": journal.description,
        "settle_date": journal.created_at.date().isoformat(),
        "system_date": journal.created_at.date().isoformat(),
        "symbol": None,
        "qty": None,
        "price": None,
    }


class JournalListInputSerializer(InputSerializer):
    after = serializers.DateField(required=False)
    before = serializers.DateField(required=False)
    status = serializers.CharField(required=False)
    entry_type = serializers.CharField(required=False)
    from_account = serializers.UUIDField(required=False)
    to_account = serializers.UUIDField(required=False)
