"""Operations shared by the trading API (``/v2``, the key's own account) and the broker API
(``/v1/trading/accounts/{account_id}``, a partner's account): account, orders, positions,
activities, and the reference data (assets, clock, calendar).

One class per operation, each with its own input and output serializer; the account it acts on
comes from the scope it is combined with (``base.TradingScope`` or ``base.BrokerScope``, see
``urls``). Views parse, call one service or selector, and serialize: nothing else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import selectors, services
from apps.api.base import AnyKeyScope, ApiView
from apps.api.serializers import (
    ActivitiesInputSerializer,
    AssetClassInputSerializer,
    AssetListInputSerializer,
    AssetOutputSerializer,
    CalendarInputSerializer,
    CloseAllPositionsInputSerializer,
    ClosePositionInputSerializer,
    OrderListInputSerializer,
    OrderOutputSerializer,
    OrderReplaceInputSerializer,
    OrderSubmitInputSerializer,
    PositionOutputSerializer,
    TradeAccountOutputSerializer,
    activity_representation,
    calendar_day_representation,
    clock_representation,
)
from apps.clients.models import Account
from apps.common.errors import NotFound, ValidationFailed
from apps.instruments.selectors import instrument_for_order
from apps.orders.choices import OrderSource
from apps.orders.models import Order
from apps.orders.selectors import orders_for_account
from apps.orders.services import (
    order_cancel,
    order_replace,
    order_submit,
    orders_cancel_all,
    position_close,
)

ERRORS = {
    401: OpenApiResponse(description='Bad or missing key: {"code": 40110000, "message": ...}'),
    403: OpenApiResponse(description="Refused (an order rejection carries its reason code)"),
    404: OpenApiResponse(description="Not found, or not yours"),
    422: OpenApiResponse(description="Invalid request: {code, message, field}"),
    429: OpenApiResponse(description="Rate limit of the key exceeded"),
}


def _order_of(account: Account, order_id: uuid.UUID) -> Order:
    order = (
        Order.objects.select_related("instrument", "replaced_by")
        .filter(account=account, pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("order_not_found", "order not found")
    return order


def _account_of(view: ApiView, request: Request, kwargs: dict[str, Any]) -> Account:
    return view.scoped_account(request, **kwargs)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------
# Account


class TradeAccountApi(ApiView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="The account's cash, buying power, equity and status (Alpaca TradeAccount)",
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        figures = selectors.trade_account(account=account)
        return Response(TradeAccountOutputSerializer(figures).data)


class AccountConfigurationsApi(ApiView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        permissions = getattr(account, "permissions", None)
        margin = bool(permissions and permissions.margin)
        return Response(
            {
                "dtbp_check": None,
                "fractional_trading": True,
                "max_margin_multiplier": "2" if margin else "1",
                "no_shorting": not bool(permissions and permissions.short_selling),
                "pdt_check": None,
                "suspend_trade": not account.is_tradable,
                "trade_confirm_email": "all",
                "ptp_no_exception_entry": False,
                "max_options_trading_level": permissions.option_level if permissions else 0,
            }
        )


# ------------------------------------------------------------------------------------------
# Orders


class OrderSubmitApi(ApiView):
    @extend_schema(
        request=OrderSubmitInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Submit an order; it is returned pending_new (or held for risk review)",
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        data = self.body(OrderSubmitInputSerializer)
        instrument = instrument_for_order(symbol=data["symbol"])
        if instrument is None:  # not a symbol: an asset id, or nothing we know
            try:
                instrument = selectors.asset_get(symbol_or_id=data["symbol"])
            except NotFound as exc:
                raise ValidationFailed("asset_not_found", exc.message, field="symbol") from exc
        order = order_submit(
            account=account,
            instrument=instrument,
            side=data["side"],
            order_type=data["type"],
            time_in_force=data["time_in_force"],
            quantity=data.get("qty"),
            notional=data.get("notional"),
            limit_price=data.get("limit_price"),
            stop_price=data.get("stop_price"),
            client_order_id=data.get("client_order_id"),
            extended_hours=data["extended_hours"],
            display_quantity=data.get("display_qty"),
            hidden=data["hidden"],
            post_only=data["post_only"],
            expire_at=data.get("expires_at"),
            self_trade_prevention=data.get("self_trade_prevention"),
            source=OrderSource.API,
            actor_label=self.actor_label,
        )
        return Response(OrderOutputSerializer(order).data)


class OrderListApi(ApiView):
    @extend_schema(
        parameters=[OrderListInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        query = self.query(OrderListInputSerializer)
        orders = orders_for_account(
            account=account,
            status=query["status"],
            limit=query["limit"],
            after=query.get("after"),
            until=query.get("until"),
            direction=query["direction"],
            symbols=query.get("symbols"),
            side=query.get("side"),
            # Named symbols are asked for explicitly, whatever their class.
            asset_classes=None
            if query.get("symbols")
            else selectors.asset_classes(query.get("asset_class")),
        )
        return Response([OrderOutputSerializer(o).data for o in orders])


class OrderGetApi(ApiView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def get(self, request: Request, order_id: uuid.UUID, **kwargs: Any) -> Response:
        order = _order_of(_account_of(self, request, kwargs), order_id)
        return Response(OrderOutputSerializer(order).data)


class OrderByClientOrderIdApi(ApiView):
    @extend_schema(
        parameters=[OpenApiParameter("client_order_id", str, required=True)],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        client_order_id = request.query_params.get("client_order_id", "")
        order = (
            Order.objects.select_related("instrument", "replaced_by")
            .filter(account=account, client_order_id=client_order_id)
            .first()
        )
        if order is None:
            raise NotFound("order_not_found", "order not found")
        return Response(OrderOutputSerializer(order).data)


class OrderReplaceApi(ApiView):
    @extend_schema(
        request=OrderReplaceInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Replace an open order; returns the new order (the old one becomes replaced)",
    )
    def patch(self, request: Request, order_id: uuid.UUID, **kwargs: Any) -> Response:
        order = _order_of(_account_of(self, request, kwargs), order_id)
        data = self.body(OrderReplaceInputSerializer)
        new = order_replace(
            order=order,
            quantity=data.get("qty"),
            limit_price=data.get("limit_price"),
            stop_price=data.get("stop_price"),
            time_in_force=data.get("time_in_force"),
            client_order_id=data.get("client_order_id"),
            source=OrderSource.API,
            actor_label=self.actor_label,
        )
        return Response(OrderOutputSerializer(new).data)


class OrderCancelApi(ApiView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, order_id: uuid.UUID, **kwargs: Any) -> Response:
        order = _order_of(_account_of(self, request, kwargs), order_id)
        order_cancel(order=order, source=OrderSource.API, actor_label=self.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderCancelAllApi(ApiView):
    @extend_schema(
        responses={207: OpenApiTypes.OBJECT, **ERRORS},
        summary="Ask every open order to cancel: 207 with one {id, status, body} per order",
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        orders = orders_cancel_all(
            account=account, source=OrderSource.API, actor_label=self.actor_label
        )
        body = [
            {"id": str(o.pk), "status": 200, "body": OrderOutputSerializer(o).data} for o in orders
        ]
        return Response(body, status=status.HTTP_207_MULTI_STATUS)


# ------------------------------------------------------------------------------------------
# Positions


class PositionListApi(ApiView):
    @extend_schema(
        parameters=[AssetClassInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Positions: us_equity, us_option and crypto unless asset_class asks bond or future",
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        query = self.query(AssetClassInputSerializer)
        positions = selectors.positions_open(
            accounts=[account], asset_class=query.get("asset_class")
        )
        return Response([PositionOutputSerializer(p).data for p in positions])


class PositionGetApi(ApiView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def get(self, request: Request, symbol_or_asset_id: str, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        figures = selectors.position_open(account=account, symbol_or_id=symbol_or_asset_id)
        return Response(PositionOutputSerializer(figures).data)


class PositionCloseApi(ApiView):
    @extend_schema(
        parameters=[ClosePositionInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="A market order closing all, a qty or a percentage of the position",
    )
    def delete(self, request: Request, symbol_or_asset_id: str, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        query = self.query(ClosePositionInputSerializer)
        figures = selectors.position_open(account=account, symbol_or_id=symbol_or_asset_id)
        order = position_close(
            account=account,
            instrument=figures.instrument,
            quantity=query.get("qty"),
            percentage=query.get("percentage"),
            source=OrderSource.API,
            actor_label=self.actor_label,
        )
        return Response(OrderOutputSerializer(order).data)


class PositionCloseAllApi(ApiView):
    @extend_schema(
        parameters=[CloseAllPositionsInputSerializer],
        responses={207: OpenApiTypes.OBJECT, **ERRORS},
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        account = _account_of(self, request, kwargs)
        query = self.query(CloseAllPositionsInputSerializer)
        outcomes = services.positions_close_all(
            account=account, cancel_orders=query["cancel_orders"], actor_label=self.actor_label
        )
        body = []
        for outcome in outcomes:
            symbol = outcome.instrument.symbol
            if outcome.order is not None:
                body.append(
                    {
                        "order_id": str(outcome.order.pk),
                        "status": 200,
                        "symbol": symbol,
                        "body": OrderOutputSerializer(outcome.order).data,
                    }
                )
            else:
                error = outcome.error
                body.append(
                    {
                        "symbol": symbol,
                        "status": error.http_status,
                        "body": {
                            **error.details,  # what is available, when that was the refusal
                            # The SDK types this code as an int; our reason code goes beside it.
                            "code": error.http_status * 100000,
                            "message": error.message,
                            "reason": error.code,
                            "symbol": symbol,
                        },
                    }
                )
        return Response(body, status=status.HTTP_207_MULTI_STATUS)


# ------------------------------------------------------------------------------------------
# Activities


class ActivitiesApi(ApiView):
    @extend_schema(
        parameters=[ActivitiesInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Fills (FILL) and cash movements (CSD, CSW, JNLC, FEE), newest first",
    )
    def get(self, request: Request, activity_type: str | None = None, **kwargs: Any) -> Response:
        query = self.query(ActivitiesInputSerializer)
        accounts = self.activity_accounts(request, query, kwargs)  # type: ignore[attr-defined]
        types = [activity_type.upper()] if activity_type else query.get("activity_types")
        date = query.get("date")
        activities = selectors.account_activities(
            accounts=accounts,
            activity_types=types,
            date=date.date() if isinstance(date, dt.datetime) else None,
            after=query.get("after"),
            until=query.get("until"),
            direction=query["direction"],
            page_size=query["page_size"],
            page_token=query.get("page_token"),
        )
        return Response([activity_representation(a) for a in activities])


# ------------------------------------------------------------------------------------------
# Reference data: assets, clock, calendar (either kind of key)


class AssetListApi(AnyKeyScope):
    @extend_schema(
        parameters=[AssetListInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Assets: us_equity, us_option and crypto unless asset_class asks bond or future",
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        query = self.query(AssetListInputSerializer)
        instruments = selectors.assets_list(
            asset_class=query.get("asset_class"),
            status=query.get("status"),
            exchange=query.get("exchange"),
        )
        return Response([AssetOutputSerializer(i).data for i in instruments])


class AssetGetApi(AnyKeyScope):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def get(self, request: Request, symbol_or_asset_id: str, **kwargs: Any) -> Response:
        instrument = selectors.asset_get(symbol_or_id=symbol_or_asset_id)
        return Response(AssetOutputSerializer(instrument).data)


class ClockApi(AnyKeyScope):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def get(self, request: Request, **kwargs: Any) -> Response:
        clock = selectors.VenueCalendar.for_mic().clock()
        return Response(clock_representation(clock))


class CalendarApi(AnyKeyScope):
    @extend_schema(
        parameters=[CalendarInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        query = self.query(CalendarInputSerializer)
        today = dt.datetime.now(dt.UTC).date()
        start = query.get("start") or today
        end = query.get("end") or start + dt.timedelta(days=365)
        if end < start:
            raise ValidationFailed("invalid_range", "end is before start", field="end")
        if (end - start).days > 3660:
            raise ValidationFailed("range_too_long", "At most ten years at a time.", field="end")
        days = selectors.VenueCalendar.for_mic().days(start, end)
        return Response([calendar_day_representation(d) for d in days])
