"""Fixtures every test may use. Factories live beside the tests of their app."""

import uuid

import pytest

from apps.matching.transport import delete_prefix_keys
from tests.trading import Market


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Password hashing is the slowest thing in most tests and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stream_prefix(settings):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings.ENGINE_STREAM_PREFIX = prefix
    yield prefix
    delete_prefix_keys(prefix)


@pytest.fixture
def market(stream_prefix, django_capture_on_commit_callbacks):
    return Market()


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Call a service and run its after-commit publishes, as a real commit would."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run
