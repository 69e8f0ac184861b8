"""Rate limits per API key (Alpaca allows 200 requests a minute per key), counted in the shared
Redis so every web worker sees the same count."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.api.models import ApiKey
from apps.matching.transport import redis_client

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The sliding log of one key, checked and extended atomically in one round trip: forget the
# requests older than the window; if fewer than the limit remain, record this one and allow it;
# otherwise answer the time of the oldest one still counted (when a request may be made again).
# DRF's SimpleRateThrottle keeps the same log as a pickled list it reads and writes back with two
# cache calls: two round trips, and two workers reading the same list both add to it and one of
# the additions is lost, so concurrent requests were undercounted.
_SLIDING_LOG = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return false
end
return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
"""


def parse_rate(rate: str) -> tuple[int, int]:
    """``"200/min"`` -> (200, 60): requests allowed, in seconds (DRF's rate format)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


class ApiKeyRateThrottle(BaseThrottle):
    """At most ``API_KEY_THROTTLE_RATE`` requests per key in any sliding window of the period;
    refused requests are not counted (as in DRF's throttles)."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def get_rate(self) -> str:
        # Read at each request, so a deployment (or a test) can change it without a restart.
        return settings.API_KEY_THROTTLE_RATE

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True  # unauthenticated requests are refused before they cost anything
        limit, period = parse_rate(self.get_rate())
        now = time.time()
        key = cache.make_key(f"throttle:api_key:{request.auth.key_id}")
        oldest = _sliding_log()(keys=[key], args=[now, period, limit, f"{now}:{uuid.uuid4().hex}"])
        if oldest is None:
            return True
        self.retry_after = max(float(oldest) + period - now, 0.0)
        return False

    def wait(self) -> float | None:
        return self.retry_after


_script = None


def _sliding_log():
    """The script, registered once per process (redis-py runs it by SHA, loading it if needed)."""
    global _script
    if _script is None:
        _script = redis_client().register_script(_SLIDING_LOG)
    return _script
