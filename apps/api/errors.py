"""Errors in the shape the Alpaca SDK parses (``alpaca.common.exceptions.APIError`` reads
``code`` and ``message`` from the body): ``{"code": ..., "message": "..."}``.

Domain errors keep their stable string code (``insufficient_buying_power``...) and their HTTP
status; DRF's own errors get Alpaca's numeric codes (40110000 for a bad key and so on).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from apps.common.errors import DomainError, is_statement_timeout

# DRF exception -> (HTTP status, Alpaca-style numeric code)
_CODES: list[tuple[type[exceptions.APIException], int, int]] = [
    (exceptions.NotAuthenticated, status.HTTP_401_UNAUTHORIZED, 40110000),
    (exceptions.AuthenticationFailed, status.HTTP_401_UNAUTHORIZED, 40110000),
    (exceptions.PermissionDenied, status.HTTP_403_FORBIDDEN, 40310000),
    (exceptions.NotFound, status.HTTP_404_NOT_FOUND, 40410000),
    (exceptions.MethodNotAllowed, status.HTTP_405_METHOD_NOT_ALLOWED, 40510000),
    (exceptions.NotAcceptable, status.HTTP_406_NOT_ACCEPTABLE, 40610000),
    (exceptions.UnsupportedMediaType, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, 41510000),
    (exceptions.Throttled, status.HTTP_429_TOO_MANY_REQUESTS, 42910000),
    (exceptions.ParseError, status.HTTP_400_BAD_REQUEST, 40010000),
    (exceptions.ValidationError, status.HTTP_422_UNPROCESSABLE_ENTITY, 42210000),
]


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name))
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out.extend(_flatten(item, prefix))
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _first_field(detail: Any) -> str | None:
    if isinstance(detail, dict) and detail:
        key = next(iter(detail))
        return None if key == "non_field_errors" else str(key)
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER`` for the partner API (set per view, see ``base.ApiView``)."""
    if isinstance(exc, DomainError):
        body: dict[str, Any] = exc.as_dict()
        order = getattr(exc, "order", None)
        if order is not None:
            body["order_id"] = str(order.pk)
        return Response(body, status=exc.http_status)
    if is_statement_timeout(exc):  # its transaction rolled back
        return Response(
            {
                "code": "database_timeout",
                "message": "The database did not answer in time; nothing was changed. Retry.",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("resource not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer 500
    http_status, code = exc.status_code, exc.status_code * 100000
    for klass, mapped_status, mapped_code in _CODES:
        if isinstance(exc, klass):
            http_status, code = mapped_status, mapped_code
            break
    messages = _flatten(exc.detail)
    body = {"code": code, "message": "; ".join(messages) or exc.default_detail}
    if isinstance(exc, exceptions.ValidationError) and (field := _first_field(exc.detail)):
        body["field"] = field
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if http_status == status.HTTP_401_UNAUTHORIZED:
        view = context.get("view")
        if view is not None:
            header = view.get_authenticate_header(context["request"])
            if header:
                headers["WWW-Authenticate"] = header
    return Response(body, status=http_status, headers=headers)
