"""The trading system's own knobs: DRF, the API schema, shards, demo behaviour."""

from .env import env_bool, env_int

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Brokerage API",
    "DESCRIPTION": "Trading, broker and market data API, compatible with the Alpaca SDK.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

ENGINE_SHARDS = env_int("ENGINE_SHARDS", 1)
DEMO_LIQUIDITY = env_bool("DEMO_LIQUIDITY", True)
DEMO_PORT = env_int("PORT", 8000)
