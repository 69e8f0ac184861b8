"""The signed-in home, account pages and second-factor enrolment. Thin: selectors and services do
the work."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from apps.clients.choices import Role
from apps.clients.roles import requires_otp, user_roles
from apps.clients.selectors import accounts_visible_to
from apps.positions.selectors import account_overview
from apps.web.forms import TokenForm
from apps.web.otp import (
    otp_base32_secret,
    otp_confirm_enrolment,
    otp_pending_device,
    otp_qr_svg,
    otp_verify_token,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    accounts = accounts_visible_to(request.user).order_by("number")[:200]
    return render(
        request,
        "web/home.html",
        {
            "roles": sorted(roles),
            "is_partner": Role.PARTNER in roles,
            "is_staff_role": requires_otp(request.user),
            "accounts": accounts,
        },
    )


@login_required
def account_detail(request: HttpRequest, account_id: UUID) -> HttpResponse:
    account = accounts_visible_to(request.user).filter(pk=account_id).first()
    if account is None:
        # Not found and not permitted look the same, so account ids cannot be probed.
        raise Http404("No such account")
    return render(
        request,
        "web/account_detail.html",
        {"account": account, **account_overview(account=account)},
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.GET.get("next") or request.POST.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device: show the QR code and secret, confirm with a first valid code."""
    if request.user.is_verified():
        messages.info(request, "Your second factor is already set up and verified.")
        return redirect("home")
    device = otp_pending_device(user=request.user)
    if device is None:
        return redirect(f"/account/otp/verify/?next={_safe_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp_confirm_enrolment(request=request, device=device, token=form.cleaned_data["token"]):
            messages.success(request, "Two-factor authentication is on.")
            return redirect(_safe_next(request))
        form.add_error(
            "token", "That code is not valid. Check the time on your phone and try again."
        )
    return render(
        request,
        "web/otp_setup.html",
        {
            "form": form,
            "qr_svg": otp_qr_svg(device),
            "secret": otp_base32_secret(device),
            "next": _safe_next(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Ask for the current code of an enrolled device; send users without one to enrolment."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    if otp_pending_device(user=request.user) is not None:
        return redirect(f"/account/otp/setup/?next={_safe_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp_verify_token(request=request, token=form.cleaned_data["token"]):
            return redirect(_safe_next(request))
        form.add_error("token", "That code is not valid.")
    return render(request, "web/otp_verify.html", {"form": form, "next": _safe_next(request)})
