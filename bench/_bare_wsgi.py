"""The ceiling baseline of ``bench/order_flow.py``: a WSGI app that is the project minus the work.

    gunicorn bench._bare_wsgi:application --workers 2

Django is configured with the project's settings (middleware, renderers, DRF) and this module as
its ROOT_URLCONF: one DRF view at ``POST /v2/orders`` that validates the body with the same
serializer as the real order endpoint and answers 200. No authentication, no throttle, no
database, no Redis: what is left is the cost of gunicorn, Django and DRF, so the real endpoint
can be judged against what the same server setup can do at best. Bench-only, never routed in
the product.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import path
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
settings.ROOT_URLCONF = __name__


class BareOrderApi(APIView):
    """Parse and validate an order like ``OrderSubmitApi``, then stop."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def post(self, request: Request, **kwargs: Any) -> Response:
        # Imported here: the serializer module needs the app registry, ready only once
        # get_wsgi_application() below has run.
        from apps.api.serializers import OrderSubmitInputSerializer

        serializer = OrderSubmitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"status": "validated", "symbol": serializer.validated_data["symbol"]})


urlpatterns = [path("v2/orders", BareOrderApi.as_view())]

application = get_wsgi_application()
