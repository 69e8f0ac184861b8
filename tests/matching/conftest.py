"""Fixtures for the matcher process tests: a private stream prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from apps.matching import transport


@pytest.fixture
def stream_prefix(settings) -> Iterator[str]:
    """A stream prefix of its own, so a test never touches a demo's or another test's keys
    (subprocesses get it through ENGINE_STREAM_PREFIX); its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.ENGINE_STREAM_PREFIX = prefix
    yield prefix
    transport.delete_prefix_keys(prefix)


def pytest_configure(config: pytest.Config) -> None:
    # xdist registers this marker only when it is loaded; the documented run of this directory
    # uses -p no:xdist, and --strict-markers would refuse the process tests' group.
    config.addinivalue_line("markers", "xdist_group(name): run in one xdist worker")
