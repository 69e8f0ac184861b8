"""Routes of the partner API, at the paths the Alpaca SDK calls.

Alpaca serves several operations on one path (``GET``/``POST``/``DELETE /v2/orders``); each of
ours is its own class, and ``endpoint`` joins the classes of one path into the view Django routes
to (each class defines only its own HTTP method, so joining them is unambiguous). The scope class
comes first: it decides whose account an operation acts on.
"""

from __future__ import annotations

from django.urls import include, path

from apps.api import apis, broker_apis
from apps.api.base import BrokerScope, TradingScope
from apps.api.docs import ApiDocsView, ApiSchemaView
from apps.api.events import TradeEventsApi


def endpoint(name: str, scope: type, *operations: type) -> type:
    scoped = all(issubclass(operation, scope) for operation in operations)
    bases = operations if scoped else (scope, *operations)
    return type(name, bases, {"__module__": __name__})


# Trading API (/v2): a trading key, its own account.
T = TradingScope
trading_urls = [
    path("account", endpoint("TradingAccount", T, apis.TradeAccountApi).as_view()),
    path(
        "account/configurations",
        endpoint("TradingAccountConfigurations", T, apis.AccountConfigurationsApi).as_view(),
    ),
    path("account/activities", endpoint("TradingActivities", T, apis.ActivitiesApi).as_view()),
    path(
        "account/activities/<str:activity_type>",
        endpoint("TradingActivitiesByType", T, apis.ActivitiesApi).as_view(),
    ),
    path(
        "orders",
        endpoint(
            "TradingOrders", T, apis.OrderListApi, apis.OrderSubmitApi, apis.OrderCancelAllApi
        ).as_view(),
    ),
    path(
        "orders:by_client_order_id",
        endpoint("TradingOrderByClientId", T, apis.OrderByClientOrderIdApi).as_view(),
    ),
    path(
        "orders/<uuid:order_id>",
        endpoint(
            "TradingOrder", T, apis.OrderGetApi, apis.OrderReplaceApi, apis.OrderCancelApi
        ).as_view(),
    ),
    path(
        "positions",
        endpoint("TradingPositions", T, apis.PositionListApi, apis.PositionCloseAllApi).as_view(),
    ),
    path(
        "positions/<str:symbol_or_asset_id>",
        endpoint("TradingPosition", T, apis.PositionGetApi, apis.PositionCloseApi).as_view(),
    ),
    path("assets", apis.AssetListApi.as_view()),
    path("assets/<str:symbol_or_asset_id>", apis.AssetGetApi.as_view()),
    path("clock", apis.ClockApi.as_view()),
    path("calendar", apis.CalendarApi.as_view()),
]

# Broker API (/v1): a partner key, the partner's accounts.
B = BrokerScope
account = "trading/accounts/<uuid:account_id>"
broker_urls = [
    path(
        "accounts",
        endpoint(
            "BrokerAccounts", B, broker_apis.AccountListApi, broker_apis.AccountCreateApi
        ).as_view(),
    ),
    path(
        "accounts/positions",
        endpoint("BrokerAllPositions", B, broker_apis.AllAccountsPositionsApi).as_view(),
    ),
    path("accounts/activities", endpoint("BrokerActivities", B, apis.ActivitiesApi).as_view()),
    path(
        "accounts/activities/<str:activity_type>",
        endpoint("BrokerActivitiesByType", B, apis.ActivitiesApi).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>",
        endpoint(
            "BrokerAccount",
            B,
            broker_apis.AccountGetApi,
            broker_apis.AccountUpdateApi,
            broker_apis.AccountCloseApi,
        ).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>/actions/close",
        endpoint("BrokerAccountClose", B, broker_apis.AccountCloseActionApi).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>/ach_relationships",
        endpoint(
            "BrokerAchRelationships",
            B,
            broker_apis.AchRelationshipListApi,
            broker_apis.AchRelationshipCreateApi,
        ).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>/ach_relationships/<uuid:relationship_id>",
        endpoint("BrokerAchRelationship", B, broker_apis.AchRelationshipDeleteApi).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>/transfers",
        endpoint(
            "BrokerTransfers", B, broker_apis.TransferListApi, broker_apis.TransferCreateApi
        ).as_view(),
    ),
    path(
        "accounts/<uuid:account_id>/transfers/<uuid:transfer_id>",
        endpoint("BrokerTransfer", B, broker_apis.TransferCancelApi).as_view(),
    ),
    path(
        "journals",
        endpoint(
            "BrokerJournals", B, broker_apis.JournalListApi, broker_apis.JournalCreateApi
        ).as_view(),
    ),
    path(
        "journals/<uuid:journal_id>",
        endpoint("BrokerJournal", B, broker_apis.JournalGetApi).as_view(),
    ),
    path(f"{account}/account", endpoint("BrokerTradeAccount", B, apis.TradeAccountApi).as_view()),
    path(
        f"{account}/account/configurations",
        endpoint("BrokerAccountConfigurations", B, apis.AccountConfigurationsApi).as_view(),
    ),
    path(
        f"{account}/orders",
        endpoint(
            "BrokerOrders", B, apis.OrderListApi, apis.OrderSubmitApi, apis.OrderCancelAllApi
        ).as_view(),
    ),
    path(
        f"{account}/orders:by_client_order_id",
        endpoint("BrokerOrderByClientId", B, apis.OrderByClientOrderIdApi).as_view(),
    ),
    path(
        f"{account}/orders/<uuid:order_id>",
        endpoint(
            "BrokerOrder", B, apis.OrderGetApi, apis.OrderReplaceApi, apis.OrderCancelApi
        ).as_view(),
    ),
    path(
        f"{account}/positions",
        endpoint("BrokerPositions", B, apis.PositionListApi, apis.PositionCloseAllApi).as_view(),
    ),
    path(
        f"{account}/positions/<str:symbol_or_asset_id>",
        endpoint("BrokerPosition", B, apis.PositionGetApi, apis.PositionCloseApi).as_view(),
    ),
    path("assets", apis.AssetListApi.as_view()),
    path("assets/<str:symbol_or_asset_id>", apis.AssetGetApi.as_view()),
    path("clock", apis.ClockApi.as_view()),
    path("calendar", apis.CalendarApi.as_view()),
    path("events/trades", TradeEventsApi.as_view()),
]

urlpatterns = [
    path("v2/", include(trading_urls)),
    path("v1/", include(broker_urls)),
    path("api/schema/", ApiSchemaView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(), name="api-docs"),
]
