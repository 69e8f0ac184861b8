"""Who is calling: API keys in Alpaca's two styles.

Trading API: ``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` headers (what the SDK's
TradingClient sends). Broker API: HTTP basic with the partner's key id and secret (what the SDK's
BrokerClient sends). Either way ``request.auth`` is the ApiKey and ``request.user`` an
``ApiPrincipal`` that is authenticated but no Django user: API keys never carry staff rights.
"""

from __future__ import annotations

import base64
import binascii

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.api.models import ApiKey
from apps.api.services import api_key_authenticate

UNAUTHORIZED = "request is not authorized"


class ApiPrincipal:
    """The caller behind an API key, shaped enough like a user for DRF's permission checks."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return self.api_key.actor_label

    def get_username(self) -> str:
        return self.api_key.actor_label

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def is_verified(self) -> bool:  # django-otp's middleware asks every user
        return False


def _authenticate(key_id: str, secret: str) -> tuple[ApiPrincipal, ApiKey]:
    api_key = api_key_authenticate(key_id=key_id, secret=secret)
    if api_key is None:
        raise exceptions.AuthenticationFailed(UNAUTHORIZED)
    return ApiPrincipal(api_key), api_key


class TradingKeyAuthentication(authentication.BaseAuthentication):
    """``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers."""

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        key_id = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        if not key_id and not secret:
            return None
        if not key_id or not secret:
            raise exceptions.AuthenticationFailed(UNAUTHORIZED)
        return _authenticate(key_id, secret)

    def authenticate_header(self, request: Request) -> str:
        # Any value makes DRF answer 401 (not 403) to a missing or wrong key, as Alpaca does.
        return 'APCA-API-KEY-ID realm="api"'


class BrokerBasicAuthentication(authentication.BaseAuthentication):
    """HTTP basic: the partner key id as user name, its secret as password."""

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed(UNAUTHORIZED) from exc
        key_id, sep, secret = decoded.partition(":")
        if not sep or not key_id or not secret:
            raise exceptions.AuthenticationFailed(UNAUTHORIZED)
        return _authenticate(key_id, secret)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="broker-api"'
