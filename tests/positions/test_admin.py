"""The portal's ledger, position and cash pages: read-only, narrowed to visible accounts."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from guardian.shortcuts import assign_perm

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from tests.clients.factories import AccountFactory, UserFactory
from tests.positions.factories import CashBalanceFactory, PositionFactory, deposit_journal

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_with_one_account(db):
    """Staff who may view the ledger models, but accounts only per object (one of them)."""
    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="positions", codename__startswith="view_"
        )
    )
    mine = AccountFactory(number="T-MINE-01")
    assign_perm("clients.view_account", officer, mine)
    return officer, mine


def rows(portal, changelist):
    response = portal.get(reverse(f"admin:positions_{changelist}_changelist"))
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_account_officer_sees_only_the_ledger_of_their_account(
    otp_client, officer_with_one_account
):
    officer, mine = officer_with_one_account
    my_position, _ = PositionFactory(account=mine), PositionFactory()
    my_cash, _ = CashBalanceFactory(account=mine), CashBalanceFactory()
    my_deposit, _ = deposit_journal(account=mine), deposit_journal(account=AccountFactory())
    portal = otp_client(officer)

    assert rows(portal, "position") == [my_position]
    assert rows(portal, "cashbalance") == [my_cash]
    assert rows(portal, "journal") == [my_deposit]
    # Only the client's own leg: the bank rail's leg and ledger belong to the firm.
    assert [p.ledger_account.account for p in rows(portal, "posting")] == [mine]
    assert [ledger.account for ledger in rows(portal, "ledgeraccount")] == [mine]


def test_compliance_sees_every_journal_with_both_legs(otp_client):
    roles_sync()
    deposits = [deposit_journal(account=AccountFactory()) for _ in range(2)]
    portal = otp_client(UserFactory(roles=[Role.COMPLIANCE_OFFICER], is_staff=True))

    journals = rows(portal, "journal")
    page = portal.get(reverse("admin:positions_journal_change", args=[deposits[0].pk]))

    assert set(journals) == set(deposits)
    (legs,) = page.context["inline_admin_formsets"]
    assert sorted(form.original.amount for form in legs) == [-10000, 10000]


@pytest.mark.parametrize("changelist", ["position", "cashbalance", "journal", "posting"])
def test_nobody_adds_ledger_records_from_the_portal(otp_client, changelist):
    roles_sync()
    portal = otp_client(UserFactory(roles=[Role.ADMIN], is_staff=True))

    response = portal.get(reverse(f"admin:positions_{changelist}_add"))

    assert response.status_code == 403
