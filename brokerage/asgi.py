"""ASGI entry point: daphne serves the WebSockets (and HTTP, for development convenience)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from brokerage.routing import api_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402


def _plain_autobahn_log_arguments() -> None:
    """autobahn (26.10) builds the arguments of its per-frame debug log line eagerly, debug on
    or off: ``hltype``/``hlval`` call ``click.style`` three times for every frame sent. In the
    market data fan-out benchmark that was 55% of autobahn's ``sendData`` (CPU profile,
    docs/marketdata.md). In ``autobahn.websocket.protocol`` they only ever format log
    arguments, so plain values do: a debug line, if one is ever enabled, loses its colours."""
    import autobahn.websocket.protocol as protocol

    protocol.hltype = lambda obj: getattr(obj, "__qualname__", obj)
    protocol.hlval = lambda value, color=None, bold=None: value


_plain_autobahn_log_arguments()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # API-key sockets first (no cookies, so no origin check), then the browser's sockets.
        "websocket": URLRouter(
            [
                *api_websocket_urlpatterns,
                re_path(
                    r"",
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                    ),
                ),
            ]
        ),
    }
)
