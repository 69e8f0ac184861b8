"""Typed domain errors: every refusal carries a stable reason code and a human message.

The same error object becomes an HTTP 4xx JSON body, a FIX reject reason or a form error, so the
code is part of the public contract: never rename one.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request. ``code`` is stable; ``message`` is for people."""

    http_status = 422

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Figures a client can act on (what is available, say), sent beside code and message.
        self.details = details or {}

    def as_dict(self) -> dict[str, str]:
        body = {**self.details, "code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ValidationFailed(DomainError):
    """The request itself is malformed or breaks an instrument rule (tick, lot, min quantity)."""

    http_status = 422


class NotPermitted(DomainError):
    """The actor may not do this to this object."""

    http_status = 403


class NotFound(DomainError):
    http_status = 404


class Conflict(DomainError):
    """The object is not in a state that allows the change (an invalid state transition)."""

    http_status = 409


def is_statement_timeout(exc: BaseException) -> bool:
    """The web server's statement timeout cancelled a statement (gunicorn.conf.py): the request's
    transaction rolled back, and a retry may well succeed."""
    from django.db import OperationalError
    from psycopg.errors import QueryCanceled

    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled)
