"""Rate limits per API key (Alpaca allows 200 requests a minute per key), counted in the shared
Redis cache so every web worker sees the same count."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from apps.api.models import ApiKey

DEFAULT_RATE = "200/min"


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        # Read at each request, so a deployment (or a test) can change it without a restart.
        return getattr(settings, "API_KEY_THROTTLE_RATE", DEFAULT_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": request.auth.key_id}
