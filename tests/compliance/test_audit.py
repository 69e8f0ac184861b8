import pytest
from django.db import DatabaseError, transaction

from apps.compliance.models import AuditEvent
from apps.compliance.services import audit_record
from tests.clients.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_audit_event_names_the_actor_the_object_and_the_change():
    user = UserFactory(username="olga")
    account = AccountFactory()

    event = audit_record(
        action="account.updated",
        obj=account,
        actor=user,
        account_id=account.pk,
        changes={"status": "ACTIVE"},
    )

    assert event.actor_label == "olga"
    assert event.object_type == "clients.account"
    assert event.object_id == str(account.pk)
    assert event.occurred_at.tzinfo is not None


def test_the_audit_trail_cannot_be_rewritten_or_deleted():
    event = audit_record(action="test.event", object_type="thing", object_id="1")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
