"""Market data REST routes at the paths alpaca-py's data clients call (see ``api.py``)."""

from django.urls import include, path

from apps.marketdata import api

stock_urls = [
    path("bars", api.BarsApi.as_view()),
    path("bars/latest", api.LatestBarsApi.as_view()),
    path("trades", api.TradesApi.as_view()),
    path("trades/latest", api.LatestTradesApi.as_view()),
    path("quotes", api.QuotesApi.as_view()),
    path("quotes/latest", api.LatestQuotesApi.as_view()),
    path("snapshots", api.SnapshotsApi.as_view()),
]

crypto_urls = [
    path("bars", api.crypto(api.BarsApi).as_view()),
    path("trades", api.crypto(api.TradesApi).as_view()),
    path("quotes", api.crypto(api.QuotesApi).as_view()),
    path("latest/bars", api.crypto(api.LatestBarsApi).as_view()),
    path("latest/trades", api.crypto(api.LatestTradesApi).as_view()),
    path("latest/quotes", api.crypto(api.LatestQuotesApi).as_view()),
    path("latest/orderbooks", api.crypto(api.LatestOrderbooksApi).as_view()),
    path("snapshots", api.crypto(api.SnapshotsApi).as_view()),
]

urlpatterns = [
    path("v2/stocks/", include(stock_urls)),
    path("v1beta3/crypto/<str:loc>/", include(crypto_urls)),
]
