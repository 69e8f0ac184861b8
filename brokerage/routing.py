"""WebSocket routes, one list for the whole site.

``websocket_urlpatterns`` are the browser's sockets: session-cookie authenticated, so asgi.py
puts them behind the origin check. ``api_websocket_urlpatterns`` authenticate with an API key in
the first message (the Alpaca SDK sends no Origin header), so they need no origin check.
"""

from django.urls import path

from apps.api.consumers import TradingStreamConsumer
from apps.marketdata import routing as marketdata_routing
from apps.web.consumers import DeskOrdersConsumer

websocket_urlpatterns: list = [
    *marketdata_routing.websocket_urlpatterns,
    path("ws/orders/", DeskOrdersConsumer.as_asgi()),
]

api_websocket_urlpatterns: list = [
    path("stream", TradingStreamConsumer.as_asgi()),
    *marketdata_routing.api_websocket_urlpatterns,
]
