"""The portal's client and account pages: row-level visibility from django-guardian, object
permission management, and the change history kept by django-simple-history."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from guardian.shortcuts import assign_perm, get_perms

from apps.clients.choices import Role
from apps.clients.models import Account, Client
from apps.clients.roles import roles_sync
from tests.clients.factories import AccountFactory, ClientFactory, RiskLimitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    roles_sync()

    def make(role=None, **kwargs):
        return UserFactory(roles=[role] if role else [], is_staff=True, **kwargs)

    return make


@pytest.fixture
def two_clients(db):
    ada = AccountFactory(client=ClientFactory(legal_name="Ada Lovelace"), number="T-ADA-0001")
    grace = AccountFactory(client=ClientFactory(legal_name="Grace Hopper"), number="T-GRACE-01")
    return ada, grace


def changelist_rows(portal, model):
    response = portal.get(reverse(f"admin:clients_{model}_changelist"))
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_global_view_permission_shows_every_client_and_account(otp_client, staff, two_clients):
    ada, grace = two_clients
    portal = otp_client(staff(Role.COMPLIANCE_OFFICER))

    assert changelist_rows(portal, "client") == [ada.client, grace.client]
    assert changelist_rows(portal, "account") == [ada, grace]


def test_staff_without_any_permission_cannot_open_the_client_list(otp_client, staff, two_clients):
    response = otp_client(staff()).get(reverse("admin:clients_client_changelist"))

    assert response.status_code == 403


def test_object_permission_through_a_group_shows_that_client(otp_client, staff, two_clients):
    ada, _ = two_clients
    officer = staff()
    desk = officer.groups.create(name="desk:west")
    assign_perm("clients.view_client", desk, ada.client)

    assert changelist_rows(otp_client(officer), "client") == [ada.client]


def test_object_change_permission_lets_an_officer_edit_only_that_client(
    otp_client, staff, two_clients
):
    ada, grace = two_clients
    officer = staff()
    assign_perm("clients.change_client", officer, ada.client)
    portal = otp_client(officer)

    mine = portal.get(reverse("admin:clients_client_change", args=[ada.client.pk]))
    theirs = portal.get(reverse("admin:clients_client_change", args=[grace.client.pk]))

    assert mine.status_code == 200
    assert mine.context["has_change_permission"] is True
    assert theirs.status_code == 302
    assert changelist_rows(portal, "client") == [ada.client]


def test_an_officer_cannot_hand_out_permissions_on_a_client_it_may_edit(
    otp_client, staff, two_clients
):
    ada, _ = two_clients
    officer = staff()
    accomplice = UserFactory()
    assign_perm("clients.change_client", officer, ada.client)
    url = reverse(
        "admin:clients_client_permissions_manage_user", args=[ada.client.pk, accomplice.pk]
    )

    response = otp_client(officer).post(url, {"permissions": ["view_client"]})

    assert response.status_code == 302
    assert get_perms(accomplice, ada.client) == []


def test_operations_grants_an_account_officer_view_of_one_account(otp_client, staff, two_clients):
    ada, _ = two_clients
    officer = staff()
    operations = otp_client(staff(Role.OPERATIONS))
    page = reverse("admin:clients_account_permissions", args=[ada.pk])
    grant = reverse("admin:clients_account_permissions_manage_user", args=[ada.pk, officer.pk])

    assert operations.get(page).status_code == 200
    response = operations.post(grant, {"permissions": ["view_account"]})

    assert response.status_code == 302
    assert get_perms(officer, ada) == ["view_account"]
    assert changelist_rows(otp_client(officer), "account") == [ada]


def test_change_page_of_a_history_model_links_its_history_and_object_permissions(
    otp_client, staff, two_clients
):
    ada, _ = two_clients

    response = otp_client(staff(Role.OPERATIONS)).get(
        reverse("admin:clients_account_change", args=[ada.pk])
    )

    content = response.content.decode()
    assert reverse("admin:clients_account_history", args=[ada.pk]) in content
    assert reverse("admin:clients_account_permissions", args=[ada.pk]) in content


def test_risk_manager_changes_a_limit_and_the_history_shows_who(otp_client, staff):
    risk_manager = staff(Role.RISK_MANAGER, username="rita.risk")
    limit = RiskLimitFactory(max_order_quantity=Decimal(1000))
    portal = otp_client(risk_manager)

    response = portal.post(
        reverse("admin:clients_risklimit_change", args=[limit.pk]),
        {
            "account": str(limit.account.pk),
            "max_order_quantity": "500",
            "max_order_notional": "",
            "max_position_quantity": "",
            "max_gross_exposure": "",
            "daily_loss_limit": "",
            "max_orders_per_second": "",
        },
    )
    history = portal.get(reverse("admin:clients_risklimit_history", args=[limit.pk]))

    assert response.status_code == 302, response.context and response.context["errors"]
    limit.refresh_from_db()
    assert limit.max_order_quantity == Decimal(500)
    latest = limit.history.latest()
    assert (latest.history_user, latest.max_order_quantity) == (risk_manager, Decimal(500))
    assert history.status_code == 200
    assert "rita.risk" in history.content.decode()


def test_risk_manager_sees_account_limits_read_only_on_the_account_page(otp_client, staff):
    limit = RiskLimitFactory()

    response = otp_client(staff(Role.RISK_MANAGER)).get(
        reverse("admin:clients_account_change", args=[limit.account.pk])
    )

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert not any(
        formset.has_change_permission for formset in response.context["inline_admin_formsets"]
    )


def test_clients_and_accounts_are_never_deleted_from_the_portal(otp_client, staff, two_clients):
    ada, _ = two_clients
    portal = otp_client(staff(Role.ADMIN))

    client_delete = portal.post(
        reverse("admin:clients_client_delete", args=[ada.client.pk]), {"post": "yes"}
    )
    account_delete = portal.post(
        reverse("admin:clients_account_delete", args=[ada.pk]), {"post": "yes"}
    )

    assert (client_delete.status_code, account_delete.status_code) == (403, 403)


def test_account_search_finds_by_number_and_client_name(otp_client, staff, two_clients):
    ada, _ = two_clients
    portal = otp_client(staff(Role.OPERATIONS))
    url = reverse("admin:clients_account_changelist")

    by_number = portal.get(url, {"q": "T-ADA"}).context["cl"].result_list
    by_name = portal.get(url, {"q": "Lovelace"}).context["cl"].result_list

    assert list(by_number) == list(by_name) == [ada]


def test_account_autocomplete_offers_only_visible_accounts(otp_client, staff, two_clients):
    ada, _ = two_clients
    officer = staff()
    officer.user_permissions.add(Permission.objects.get(codename="change_risklimit"))
    assign_perm("clients.view_account", officer, ada)

    response = otp_client(officer).get(
        reverse("admin:autocomplete"),
        {"app_label": "clients", "model_name": "risklimit", "field_name": "account", "term": "T-"},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == [ada.number]


def test_view_permission_answers_per_model_and_per_object(staff, two_clients):
    ada, grace = two_clients
    officer = staff()
    assign_perm("clients.view_client", officer, ada.client)
    request = RequestFactory().get("/admin/")
    request.user = officer
    client_admin = admin.site._registry[Client]
    account_admin = admin.site._registry[Account]

    assert client_admin.has_view_permission(request) is True
    assert client_admin.has_view_permission(request, ada.client) is True
    assert client_admin.has_view_permission(request, grace.client) is False
    assert account_admin.has_view_permission(request) is False


def test_history_of_a_client_the_officer_may_not_see_is_refused(otp_client, staff, two_clients):
    ada, grace = two_clients
    officer = staff()
    assign_perm("clients.view_client", officer, ada.client)
    portal = otp_client(officer)

    mine = portal.get(reverse("admin:clients_client_history", args=[ada.client.pk]))
    theirs = portal.get(reverse("admin:clients_client_history", args=[grace.client.pk]))

    assert (mine.status_code, theirs.status_code) == (200, 403)
