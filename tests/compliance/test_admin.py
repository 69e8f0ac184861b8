"""The portal's audit trail: append-only, narrowed to visible accounts for account officers."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from guardian.shortcuts import assign_perm

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from apps.compliance.services import audit_record
from tests.clients.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_account_officer_sees_only_the_audit_events_of_their_account(otp_client):
    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    mine, theirs = AccountFactory(), AccountFactory()
    assign_perm("clients.view_account", officer, mine)
    my_event = audit_record(action="account.opened", obj=mine, account_id=mine.pk)
    audit_record(action="account.opened", obj=theirs, account_id=theirs.pk)
    audit_record(action="partner.created", object_type="clients.partner", object_id="1")

    response = otp_client(officer).get(reverse("admin:compliance_auditevent_changelist"))

    assert list(response.context["cl"].result_list) == [my_event]


def test_compliance_reads_every_event_and_can_change_none(otp_client):
    roles_sync()
    account = AccountFactory()
    event = audit_record(action="account.opened", obj=account, account_id=account.pk)
    system_event = audit_record(action="settlement.run", object_type="job", object_id="42")
    portal = otp_client(UserFactory(roles=[Role.COMPLIANCE_OFFICER], is_staff=True))

    listed = portal.get(reverse("admin:compliance_auditevent_changelist"))
    page = portal.get(reverse("admin:compliance_auditevent_change", args=[event.pk]))
    edit = portal.post(
        reverse("admin:compliance_auditevent_change", args=[event.pk]), {"action": "x"}
    )

    assert set(listed.context["cl"].result_list) == {event, system_event}
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert edit.status_code == 403


def test_audit_search_by_object_id(otp_client):
    roles_sync()
    account = AccountFactory()
    event = audit_record(action="account.opened", obj=account, account_id=account.pk)
    audit_record(action="account.opened", obj=AccountFactory())

    response = otp_client(UserFactory(roles=[Role.RISK_MANAGER], is_staff=True)).get(
        reverse("admin:compliance_auditevent_changelist"), {"q": str(account.pk)}
    )

    assert list(response.context["cl"].result_list) == [event]
