import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from tests.clients.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def operations_user():
    roles_sync()
    return UserFactory(username="olga", is_staff=True, roles=[Role.OPERATIONS])


def test_a_staff_member_without_a_device_is_sent_to_enrolment_before_any_page(
    client, operations_user
):
    client.login(username="olga", password=PASSWORD)

    for path in ("/", "/admin/"):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0].startswith("/account/otp/setup/")
    page = client.get("/account/otp/setup/")
    assert b"<svg" in page.content  # the QR code, drawn inline
    assert TOTPDevice.objects.filter(user=operations_user, confirmed=False).count() == 1


def test_enrolment_with_a_valid_code_opens_the_admin(client, operations_user):
    client.login(username="olga", password=PASSWORD)
    client.get("/account/otp/setup/")
    device = TOTPDevice.objects.get(user=operations_user)

    response = client.post("/account/otp/setup/?next=/admin/", {"token": _current_code(device)})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_a_form_error_and_the_admin_stays_closed(client, operations_user):
    TOTPDevice.objects.create(user=operations_user, name="phone", confirmed=True)
    client.login(username="olga", password=PASSWORD)

    response = client.post("/account/otp/verify/", {"token": "000000"})

    assert response.status_code == 200
    assert b"That code is not valid" in response.content
    assert (
        client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/account/otp/verify/")
    )


def test_a_verified_staff_member_reaches_the_admin(client, operations_user):
    device = TOTPDevice.objects.create(user=operations_user, name="phone", confirmed=True)
    client.login(username="olga", password=PASSWORD)

    client.post("/account/otp/verify/", {"token": _current_code(device)})

    assert client.get("/admin/").status_code == 200


def test_a_trader_is_not_asked_for_a_second_factor(client):
    roles_sync()
    UserFactory(username="tom", roles=[Role.TRADER])
    client.login(username="tom", password=PASSWORD)

    assert client.get("/").status_code == 200


def test_the_next_parameter_cannot_send_a_user_to_another_site(client, operations_user):
    device = TOTPDevice.objects.create(user=operations_user, name="phone", confirmed=True)
    client.login(username="olga", password=PASSWORD)

    response = client.post(
        "/account/otp/verify/?next=https://evil.example/", {"token": _current_code(device)}
    )

    assert response["Location"] == "/"
