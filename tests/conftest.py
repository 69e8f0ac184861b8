"""Fixtures every test may use. Factories live beside the tests of their app."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Password hashing is the slowest thing in most tests and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
