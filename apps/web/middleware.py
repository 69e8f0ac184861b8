"""Second factor for staff: no staff page or admin page opens before the session is OTP-verified.
And a page stopped by the web server's statement timeout answers 503, asking for a retry."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.clients.roles import requires_otp
from apps.common.errors import is_statement_timeout

# Paths an unverified staff member still needs: to enrol, to verify, to leave, and static files.
_OPEN_PREFIXES = ("/account/otp/", "/account/logout/", "/static/", "/healthz", "/readyz")


class StaffOTPRequiredMiddleware:
    """Sends a logged-in staff member without a verified device to enrolment or verification."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
            and requires_otp(user)
        ):
            return redirect(f"{reverse('otp-verify')}?next={request.get_full_path()}")
        return self.get_response(request)


class DatabaseTimeoutMiddleware:
    """A page whose statement hit the web server's statement timeout (gunicorn.conf.py) answers
    503 with a page asking to retry, not a 500: its transaction rolled back, nothing changed.
    The API answers the same in its own shape (``apps.api.errors``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_statement_timeout(exception):
            return None
        response = render(request, "web/database_timeout.html", status=503)
        response["Retry-After"] = "1"
        return response
