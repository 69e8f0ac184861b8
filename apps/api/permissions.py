"""What a key may do: a trading key acts for its own account, a broker key for its partner's.
Objects beyond a key's reach are answered 404 by the views' lookups, never 403, so a caller
cannot learn that another partner's account exists."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.api.models import ApiKey


class IsTradingKey(BasePermission):
    message = "a trading API key is required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        return isinstance(api_key, ApiKey) and api_key.is_trading_key and api_key.is_active


class IsPartnerKey(BasePermission):
    message = "a broker API key is required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        return (
            isinstance(api_key, ApiKey)
            and api_key.is_partner_key
            and api_key.is_active
            and api_key.partner.is_active
        )


class IsAnyApiKey(BasePermission):
    """Reads that every key may make (assets, clock, calendar)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, ApiKey) and request.auth.is_active
