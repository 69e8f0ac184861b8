"""The per-key rate limit: a sliding log per key in Redis, checked and extended atomically."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from apps.api.throttling import ApiKeyRateThrottle, parse_rate
from tests.api.factories import issue_trading_key

pytestmark = pytest.mark.django_db


def test_rates_read_as_drf_writes_them():
    assert parse_rate("200/min") == (200, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("1000/hour") == (1000, 3600)
    assert parse_rate("10/day") == (10, 86400)


def test_concurrent_requests_of_one_key_never_exceed_the_limit(settings):
    settings.API_KEY_THROTTLE_RATE = "10/min"
    api_key, _ = issue_trading_key()
    request = SimpleNamespace(auth=api_key)  # all the throttle reads of a DRF request
    barrier = threading.Barrier(20)
    allowed: list[bool] = []

    def call() -> None:
        barrier.wait(timeout=10)
        allowed.append(ApiKeyRateThrottle().allow_request(request, None))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(allowed) == [False] * 10 + [True] * 10


def test_a_refused_request_says_when_to_come_back(settings):
    settings.API_KEY_THROTTLE_RATE = "2/min"
    api_key, _ = issue_trading_key()
    request = SimpleNamespace(auth=api_key)
    throttles = [ApiKeyRateThrottle() for _ in range(3)]

    assert [t.allow_request(request, None) for t in throttles] == [True, True, False]
    assert 0 < throttles[2].wait() <= 60
    other_key, _ = issue_trading_key()
    assert ApiKeyRateThrottle().allow_request(SimpleNamespace(auth=other_key), None)
