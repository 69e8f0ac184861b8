"""The trading system's own knobs: DRF, the API schema, shards, demo behaviour."""

from .env import env_bool, env_int, env_str

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.ApiAutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Brokerage API",
    "DESCRIPTION": "Trading, broker and market data API, compatible with the Alpaca SDK.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Requests per API key in any sliding window ("count/sec|min|hour|day"); over it, 429.
API_KEY_THROTTLE_RATE = env_str("API_KEY_THROTTLE_RATE", "200/min")
# Server-sent event streams (``/v1/events/trades``) one web process holds at once; each holds a
# thread (gunicorn.conf.py: WEB_THREADS, 8) and half are kept for requests. Over it, 429.
API_EVENT_STREAMS_PER_PROCESS = env_int(
    "API_EVENT_STREAMS_PER_PROCESS", max(1, env_int("WEB_THREADS", 8) // 2)
)
# A comment line this often keeps proxies from closing an idle stream and finds a gone client.
API_EVENT_KEEPALIVE_SECONDS = env_int("API_EVENT_KEEPALIVE_SECONDS", 15)
ENGINE_SHARDS = env_int("ENGINE_SHARDS", 1)
# How many newer order ids a finished order's id stays known for (duplicate detection); a new
# engine takes it from here, a restored one keeps its snapshot's (docs/engine.md).
ENGINE_SEEN_WINDOW = env_int("ENGINE_SEEN_WINDOW", 1_000_000)
# How long the applier holds a read of acceptances only (no fill, cancel or rejection) for more
# to commit with them: one transaction for several orders' acknowledgements under load, at most
# this much later. 0 commits every read at once. A fill is never held (docs/orders.md).
APPLIER_LINGER_MS = env_int("APPLIER_LINGER_MS", 5)
DEMO_LIQUIDITY = env_bool("DEMO_LIQUIDITY", True)
DEMO_PORT = env_int("PORT", 8000)
# Where the browser opens its WebSockets (the desk's market data and order updates), e.g.
# "wss://desk.example.com". Empty: same origin as the page, except in development where daphne
# listens next to gunicorn, so the desk uses ws://<page host>:<WS_PORT> (default PORT + 1).
WEBSOCKET_BASE_URL = env_str("WEBSOCKET_BASE_URL", "").rstrip("/")
WEBSOCKET_DEV_PORT = env_int("WS_PORT", DEMO_PORT + 1)
