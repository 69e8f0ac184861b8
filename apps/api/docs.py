"""The OpenAPI 3 schema and its Swagger UI, served from our own static files (the sidecar), so
the docs page works offline. For signed-in users (staff, partner staff) or any API key."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from apps.api.authentication import BrokerBasicAuthentication, TradingKeyAuthentication

DOC_AUTHENTICATION = [TradingKeyAuthentication, BrokerBasicAuthentication, SessionAuthentication]


class ApiSchemaView(SpectacularAPIView):
    authentication_classes = DOC_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    # The whole site's DRF views: the trading and broker API and the market data API.


class ApiDocsView(SpectacularSwaggerView):
    authentication_classes = DOC_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    url_name = "api-schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        # Equivalent to SWAGGER_UI_DIST = "SIDECAR", without changing the project-wide setting.
        from django.templatetags.static import static

        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        from django.templatetags.static import static

        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


class TradingKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.TradingKeyAuthentication"
    name = ["ApiKeyId", "ApiSecretKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "APCA-API-KEY-ID"},
            {"type": "apiKey", "in": "header", "name": "APCA-API-SECRET-KEY"},
        ]


class BrokerBasicScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.BrokerBasicAuthentication"
    name = "BrokerBasic"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
