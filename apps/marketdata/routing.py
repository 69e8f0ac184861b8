"""WebSocket routes of market data, included by ``brokerage/routing.py``.

``websocket_urlpatterns``: the desk's feed, behind the session and origin checks.
``api_websocket_urlpatterns``: the Alpaca data streams, authenticated by API key in the first
message (the SDK sends no Origin header), at the paths the SDK's ``url_override`` points to.
"""

from django.urls import path, re_path

from apps.marketdata.consumers import AlpacaDataStreamConsumer, MarketDataConsumer

websocket_urlpatterns: list = [
    path("ws/market/", MarketDataConsumer.as_asgi()),
]

api_websocket_urlpatterns: list = [
    re_path(r"^v2/(iex|sip|delayed_sip|boats|overnight|test)$", AlpacaDataStreamConsumer.as_asgi()),
    re_path(r"^v1beta3/crypto/([a-z0-9-]+)$", AlpacaDataStreamConsumer.as_asgi()),
]
