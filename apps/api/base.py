"""Base classes of every partner API view: key authentication, per-key throttling, errors in
the SDK's shape, and the two scopes (a trading key's own account; a partner's accounts)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from apps.api.authentication import BrokerBasicAuthentication, TradingKeyAuthentication
from apps.api.errors import api_exception_handler
from apps.api.models import ApiKey
from apps.api.permissions import IsAnyApiKey, IsPartnerKey, IsTradingKey
from apps.api.throttling import ApiKeyRateThrottle
from apps.clients.models import Account
from apps.common.errors import NotFound


class ApiView(APIView):
    """JSON in, JSON out, keys only (no session, so no CSRF to worry about), one throttle per
    key, and errors as ``{"code", "message"}``."""

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_classes = [ApiKeyRateThrottle]

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        # DRF copies the authenticated user onto the Django request, where simple_history's
        # middleware would try to store an ApiPrincipal as a row's history_user (a User FK).
        # An API key is no user: history records it as anonymous and the audit trail, which
        # the services write with the key's actor_label, says which key it was.
        request._request.user = AnonymousUser()

    def get_exception_handler(self):
        return api_exception_handler

    @property
    def api_key(self) -> ApiKey:
        return self.request.auth

    @property
    def actor_label(self) -> str:
        return self.api_key.actor_label

    @staticmethod
    def validated(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def query(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        return self.validated(serializer_class, self.request.query_params)

    def body(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        return self.validated(serializer_class, self.request.data)


class TradingScope(ApiView):
    """The trading API (``/v2``): a trading key acts for its own account only."""

    authentication_classes = [TradingKeyAuthentication]
    permission_classes = [IsTradingKey]

    def scoped_account(self, request: Request, **kwargs: Any) -> Account:
        return request.auth.account

    def activity_accounts(
        self, request: Request, query: dict[str, Any], kwargs: dict[str, Any]
    ) -> list[Account]:
        return [request.auth.account]


class BrokerScope(ApiView):
    """The broker API (``/v1``): a partner key acts for the accounts its partner opened; any
    other account id is answered 404, exactly like one that does not exist."""

    authentication_classes = [BrokerBasicAuthentication]
    permission_classes = [IsPartnerKey]

    def partner_accounts(self) -> QuerySet[Account]:
        return Account.objects.filter(partner=self.api_key.partner)

    def scoped_account(self, request: Request, **kwargs: Any) -> Account:
        account = (
            self.partner_accounts()
            .select_related("client", "permissions")
            .filter(pk=kwargs["account_id"])
            .first()
        )
        if account is None:
            raise NotFound("account_not_found", "account not found")
        return account

    def activity_accounts(
        self, request: Request, query: dict[str, Any], kwargs: dict[str, Any]
    ) -> QuerySet[Account]:
        accounts = self.partner_accounts()
        if query.get("account_id"):
            accounts = accounts.filter(pk=query["account_id"])
        return accounts


class AnyKeyScope(ApiView):
    """Reference data (assets, clock, calendar) that either kind of key may read."""

    authentication_classes = [TradingKeyAuthentication, BrokerBasicAuthentication]

    permission_classes = [IsAnyApiKey]
