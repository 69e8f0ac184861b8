"""Market data tests run on the real Redis channel layer with a prefix of their own, so they
never meet another engineer's test run or a running demo."""

from __future__ import annotations

import uuid

import pytest

from apps.marketdata import specs
from apps.marketdata.publisher import publisher
from brokerage.settings.messaging import channel_layers
from tests.processes import ProcessManager, start_daphne


@pytest.fixture
def md(settings, stream_prefix):
    """Own engine/market data prefix and channel layer prefix; empty spec caches."""
    settings.CHANNEL_LAYERS = channel_layers(
        redis_url=settings.REDIS_URL, prefix=f"test-asgi-{uuid.uuid4().hex[:10]}"
    )
    specs.clear()
    yield stream_prefix
    publisher.flush()
    specs.clear()


@pytest.fixture
def daphne_server(md, settings, tmp_path):
    """A real daphne on loopback, on the test database and this test's Redis prefixes."""
    manager = ProcessManager(tmp_path)
    port = start_daphne(manager)
    yield f"127.0.0.1:{port}"
    manager.stop_all()
