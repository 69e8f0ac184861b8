"""Market data tests run on the real Redis channel layer with a prefix of their own, so they
never meet another engineer's test run or a running demo."""

from __future__ import annotations

import uuid

import pytest

from apps.marketdata import specs
from apps.marketdata.publisher import publisher


@pytest.fixture
def md(settings, stream_prefix):
    """Own engine/market data prefix and channel layer prefix; empty spec caches."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [settings.REDIS_URL],
                "prefix": f"test-asgi-{uuid.uuid4().hex[:10]}",
                "capacity": 1000,
            },
        }
    }
    specs.clear()
    yield stream_prefix
    publisher.flush()
    specs.clear()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def daphne_server(md, settings):
    """A real daphne on loopback, on the test database and this test's Redis prefixes."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ENGINE_STREAM_PREFIX": settings.ENGINE_STREAM_PREFIX,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "DJANGO_SETTINGS_MODULE": "brokerage.settings",
    }
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "brokerage.asgi:application"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(10)
