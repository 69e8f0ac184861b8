"""TOTP enrolment and verification on top of django-otp."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice


def otp_pending_device(*, user: AbstractBaseUser) -> TOTPDevice | None:
    """The unconfirmed TOTP device to enrol, created if the user has no confirmed device yet.
    None when the user already has a confirmed device (then they verify instead)."""
    if any(True for _ in devices_for_user(user, confirmed=True)):
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def otp_qr_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an inline SVG QR code (no image files, no third-party service)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def otp_base32_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def otp_confirm_enrolment(*, request: HttpRequest, device: TOTPDevice, token: str) -> bool:
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return True


def otp_verify_token(*, request: HttpRequest, token: str) -> bool:
    for device in devices_for_user(request.user, confirmed=True):
        if device.verify_token(token):
            otp_login(request, device)
            return True
    return False
