"""WebSocket routes, one list for the whole site."""

websocket_urlpatterns: list = []
