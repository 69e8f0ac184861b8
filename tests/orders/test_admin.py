"""The portal's order and execution pages: read-only, narrowed to the accounts a user may see."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from guardian.shortcuts import assign_perm

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from tests.clients.factories import AccountFactory, UserFactory
from tests.orders.factories import ExecutionFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_with_one_account(db):
    """Staff who may view orders and executions, but accounts only per object (one of them)."""
    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_execution"])
    )
    mine = AccountFactory(number="T-MINE-01")
    assign_perm("clients.view_account", officer, mine)
    return officer, mine


def test_orders_of_other_accounts_are_hidden_from_an_account_officer(
    otp_client, officer_with_one_account
):
    officer, mine = officer_with_one_account
    my_order = OrderFactory(account=mine)
    other_order = OrderFactory()
    portal = otp_client(officer)

    listed = portal.get(reverse("admin:orders_order_changelist")).context["cl"].result_list
    other_page = portal.get(reverse("admin:orders_order_change", args=[other_order.pk]))

    assert list(listed) == [my_order]
    assert other_page.status_code == 302
    assert other_page["Location"] == reverse("admin:index")


def test_executions_of_other_accounts_are_hidden_from_an_account_officer(
    otp_client, officer_with_one_account
):
    officer, mine = officer_with_one_account
    my_fill = ExecutionFactory(order__account=mine)
    ExecutionFactory()

    response = otp_client(officer).get(reverse("admin:orders_execution_changelist"))

    assert list(response.context["cl"].result_list) == [my_fill]


def test_operations_sees_every_order(otp_client):
    roles_sync()
    orders = [OrderFactory(), OrderFactory()]

    response = otp_client(UserFactory(roles=[Role.OPERATIONS], is_staff=True)).get(
        reverse("admin:orders_order_changelist")
    )

    assert set(response.context["cl"].result_list) == set(orders)


def test_order_page_is_read_only_with_its_fills(otp_client):
    roles_sync()
    fill = ExecutionFactory()

    response = otp_client(UserFactory(roles=[Role.ADMIN], is_staff=True)).get(
        reverse("admin:orders_order_change", args=[fill.order.pk])
    )

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b'name="_save"' not in response.content
    (fills,) = response.context["inline_admin_formsets"]
    assert [form.original for form in fills] == [fill]


@pytest.mark.parametrize("term", ["not-a-uuid", "web-0", "T-"])
def test_order_search_accepts_ids_and_free_text(otp_client, term):
    roles_sync()
    order = OrderFactory(client_order_id="web-000042")

    response = otp_client(UserFactory(roles=[Role.OPERATIONS], is_staff=True)).get(
        reverse("admin:orders_order_changelist"), {"q": term}
    )

    assert response.status_code == 200
    if term == "web-0":
        assert list(response.context["cl"].result_list) == [order]


def test_order_search_by_exact_id(otp_client):
    roles_sync()
    order, _ = OrderFactory(), OrderFactory()

    response = otp_client(UserFactory(roles=[Role.OPERATIONS], is_staff=True)).get(
        reverse("admin:orders_order_changelist"), {"q": str(order.pk)}
    )

    assert list(response.context["cl"].result_list) == [order]
