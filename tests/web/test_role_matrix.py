"""Who may open what: every role against the portal's changelists, and row-level visibility for
account officers, traders and partners.

The expected table is written out by hand from the access policy, not derived from
``ROLE_PERMISSIONS``: a test that recomputed the implementation's dict would prove nothing.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django_otp.admin import OTPAdminSite
from guardian.shortcuts import assign_perm

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from apps.compliance.services import audit_record
from tests.clients.factories import (
    AccountFactory,
    ClientFactory,
    ClientUserFactory,
    PartnerFactory,
    RiskLimitFactory,
    UserFactory,
)
from tests.orders.factories import ExecutionFactory
from tests.positions.factories import PositionFactory, deposit_journal

CHANGELISTS = [
    "clients_client",
    "clients_account",
    "clients_risklimit",
    "instruments_instrument",
    "orders_order",
    "orders_execution",
    "positions_position",
    "positions_journal",
    "compliance_auditevent",
]

# 200: the changelist opens. 403: signed in to the portal, but the role may not see this.
# 302: not portal staff at all, sent to the admin login.
OK, NO, OUT = 200, 403, 302

# fmt: off
EXPECTED = {
    #                        client account risk instr order exec posn journal audit
    Role.TRADER:             [OUT,  OUT,    OUT, OUT,  OUT,  OUT, OUT, OUT,    OUT],
    Role.PARTNER:            [OUT,  OUT,    OUT, OUT,  OUT,  OUT, OUT, OUT,    OUT],
    Role.MARKET_MAKER:       [OUT,  OUT,    OUT, OUT,  OUT,  OUT, OUT, OUT,    OUT],
    Role.RISK_MANAGER:       [OK,   OK,     OK,  OK,   OK,   OK,  OK,  NO,     OK],
    Role.COMPLIANCE_OFFICER: [OK,   OK,     OK,  OK,   OK,   OK,  OK,  OK,     OK],
    Role.OPERATIONS:         [OK,   OK,     OK,  OK,   OK,   OK,  OK,  OK,     NO],
    Role.ADMIN:              [OK,   OK,     OK,  OK,   OK,   OK,  OK,  OK,     OK],
}
# fmt: on

STAFF = {Role.RISK_MANAGER, Role.COMPLIANCE_OFFICER, Role.OPERATIONS, Role.ADMIN}


def test_expected_table_covers_every_role():
    assert set(EXPECTED) == set(Role)
    assert all(len(row) == len(CHANGELISTS) for row in EXPECTED.values())


@pytest.fixture
def portal_rows(db):
    """One row behind every changelist, so the pages render real rows, not an empty table."""
    roles_sync()
    execution = ExecutionFactory()
    RiskLimitFactory(account=execution.account)
    PositionFactory(account=execution.account, instrument=execution.instrument)
    deposit_journal(account=execution.account)
    audit_record(action="order.filled", obj=execution.order, account_id=execution.account_id)
    return execution


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "changelist", "expected"),
    [
        pytest.param(role, changelist, status, id=f"{role}-{changelist}")
        for role, row in EXPECTED.items()
        for changelist, status in zip(CHANGELISTS, row, strict=True)
    ],
)
def test_role_opens_admin_changelist(otp_client, portal_rows, role, changelist, expected):
    user = UserFactory(roles=[role], is_staff=role in STAFF)
    url = reverse(f"admin:{changelist}_changelist")

    response = otp_client(user).get(url)

    assert response.status_code == expected
    if expected == OUT:
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/"])
def test_unverified_staff_is_sent_to_otp_verification(client, path):
    roles_sync()
    user = UserFactory(roles=[Role.OPERATIONS], is_staff=True)
    client.force_login(user)  # signed in with a password only, no second factor yet

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('otp-verify')}?next={path}"


@pytest.mark.django_db
def test_admin_site_itself_refuses_an_unverified_staff_session():
    # Not only the middleware: the admin site (OTPAdminSite) refuses an unverified session on its
    # own, so the portal stays closed if the middleware is ever reordered or removed.
    user = UserFactory(is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = user

    user.is_verified = lambda: False
    refused = admin.site.has_permission(request)
    user.is_verified = lambda: True
    admitted = admin.site.has_permission(request)

    assert isinstance(admin.site, OTPAdminSite)
    assert (refused, admitted) == (False, True)


class TestAccountOfficer:
    """A staff member without global view permissions who looks after one client."""

    @pytest.fixture
    def book(self, db):
        roles_sync()
        officer = UserFactory(is_staff=True)
        mine = AccountFactory(client=ClientFactory(legal_name="Ada Lovelace"), number="T-MINE-01")
        theirs = AccountFactory(
            client=ClientFactory(legal_name="Grace Hopper"), number="T-THEIRS-01"
        )
        assign_perm("clients.view_client", officer, mine.client)
        assign_perm("clients.view_account", officer, mine)
        return officer, mine, theirs

    def test_sees_exactly_their_client_and_account_in_the_changelists(self, otp_client, book):
        officer, mine, _ = book
        portal = otp_client(officer)

        clients = portal.get(reverse("admin:clients_client_changelist"))
        accounts = portal.get(reverse("admin:clients_account_changelist"))

        assert clients.status_code == 200
        assert list(clients.context["cl"].result_list) == [mine.client]
        assert accounts.status_code == 200
        assert list(accounts.context["cl"].result_list) == [mine]

    def test_sees_clients_and_accounts_on_the_admin_index(self, otp_client, book):
        officer, _, _ = book

        response = otp_client(officer).get(reverse("admin:index"))

        models = {
            model["object_name"] for app in response.context["app_list"] for model in app["models"]
        }
        assert models == {"Client", "Account"}

    def test_opens_their_client_read_only(self, otp_client, book):
        officer, mine, _ = book

        response = otp_client(officer).get(
            reverse("admin:clients_client_change", args=[mine.client.pk])
        )

        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert b"Object permissions" not in response.content

    @pytest.mark.parametrize("model", ["client", "account"])
    def test_cannot_open_another_clients_change_page(self, otp_client, book, model):
        officer, _, theirs = book
        obj = theirs.client if model == "client" else theirs

        response = otp_client(officer).get(reverse(f"admin:clients_{model}_change", args=[obj.pk]))

        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert response["Location"] == reverse("admin:index")

    def test_cannot_manage_object_permissions(self, otp_client, book):
        officer, mine, _ = book

        response = otp_client(officer).get(
            reverse("admin:clients_client_permissions", args=[mine.client.pk])
        )

        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


class TestTrader:
    @pytest.fixture
    def accounts(self, db):
        roles_sync()
        trader = UserFactory(roles=[Role.TRADER])
        link = ClientUserFactory(user=trader)
        own = [
            AccountFactory(client=link.client, number="T-OWN-0001"),
            AccountFactory(client=link.client, number="T-OWN-0002"),
        ]
        other = AccountFactory(number="T-OTHER-001")
        return trader, own, other

    def test_home_lists_only_their_own_accounts(self, client, accounts):
        trader, own, other = accounts
        client.force_login(trader)

        response = client.get("/")

        assert response.status_code == 200
        assert list(response.context["accounts"]) == own
        assert other.number not in response.content.decode()

    def test_another_accounts_page_is_not_found(self, client, accounts):
        trader, own, other = accounts
        client.force_login(trader)

        assert client.get(f"/accounts/{own[0].pk}/").status_code == 200
        assert client.get(f"/accounts/{other.pk}/").status_code == 404


class TestPartnerUser:
    @pytest.fixture
    def partner_book(self, db):
        roles_sync()
        partner = PartnerFactory()
        login = UserFactory(roles=[Role.PARTNER])
        login.groups.add(partner.group)
        opened = AccountFactory(number="T-PARTNER-1", partner=partner)
        # Guardian permissions go to the partner's group, never to individual logins.
        assign_perm("clients.view_client", partner.group, opened.client)
        assign_perm("clients.view_account", partner.group, opened)
        elsewhere = AccountFactory(number="T-ELSEWHERE", partner=PartnerFactory())
        return login, opened, elsewhere

    def test_home_lists_only_the_accounts_the_partner_opened(self, client, partner_book):
        login, opened, elsewhere = partner_book
        client.force_login(login)

        response = client.get("/")

        assert response.status_code == 200
        assert list(response.context["accounts"]) == [opened]
        assert elsewhere.number not in response.content.decode()

    def test_another_partners_account_is_not_found(self, client, partner_book):
        login, opened, elsewhere = partner_book
        client.force_login(login)

        assert client.get(f"/accounts/{opened.pk}/").status_code == 200
        assert client.get(f"/accounts/{elsewhere.pk}/").status_code == 404

    def test_cannot_enter_the_operations_portal(self, otp_client, partner_book):
        login, _, _ = partner_book

        response = otp_client(login).get(reverse("admin:clients_account_changelist"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
