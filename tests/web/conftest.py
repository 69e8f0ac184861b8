"""Signing in the way staff do: a session verified by a confirmed TOTP device.

Admin tests of other apps import ``otp_client`` from here (``from tests.web.conftest import
otp_client``) so every portal test signs in the same way.
"""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def sign_in_verified(client: Client, user: AbstractBaseUser) -> Client:
    """Log ``user`` in on ``client`` and mark the session OTP-verified, as django_otp.login does
    after a valid token (without having to compute one)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def otp_client(db) -> Callable[[AbstractBaseUser], Client]:
    """``otp_client(user)``: a test client signed in as ``user`` with a verified second factor.
    Each call returns a fresh client, so one test can act as several users."""

    def make(user: AbstractBaseUser) -> Client:
        return sign_in_verified(Client(), user)

    return make
