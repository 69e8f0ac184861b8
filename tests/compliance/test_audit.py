import threading

import pytest
from django.db import DatabaseError, connection, transaction

from apps.compliance.models import AuditEvent
from apps.compliance.services import (
    AUDIT_ORDER_LOCK,
    AuditEntry,
    audit_many,
    audit_record,
    wait_for_audits_in_flight,
)
from tests.clients.factories import AccountFactory, UserFactory
from tests.processes import wait_until

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


def waiting_for_the_audit_order_lock() -> int:
    """Backends waiting for ``AUDIT_ORDER_LOCK`` (its key in the two halves pg_locks shows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = %s AND objid = %s",
            [AUDIT_ORDER_LOCK >> 32, AUDIT_ORDER_LOCK & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0]


class HeldAuditBatch(threading.Thread):
    """A transaction of ``audit_many`` (as an applier's batch) that waits to commit until told."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.commit = threading.Event()
        self.ids: list[int] = []

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.ids = audit_many([AuditEntry("applier", "test.held", "thing", "1", None, {})])
                self.commit.wait(timeout=30)
        finally:
            connection.close()


@pytest.mark.django_db(transaction=True)
def test_audit_ids_become_visible_in_their_order_across_transactions():
    first = HeldAuditBatch()
    first.start()
    wait_until(lambda: first.ids, timeout=10, what="the first batch's ids")
    second = HeldAuditBatch()
    second.start()

    # The second batch cannot draw ids past the first's until the first has committed: a
    # reader resuming after the second's ids would skip the first's, committed later.
    wait_until(waiting_for_the_audit_order_lock, timeout=10, what="the second batch to wait")
    assert not second.ids
    first.commit.set()
    first.join(timeout=10)
    second.commit.set()
    second.join(timeout=10)
    assert min(second.ids) > max(first.ids)


@pytest.mark.django_db(transaction=True)
def test_waiting_for_audits_in_flight_returns_once_they_are_visible():
    in_flight = HeldAuditBatch()
    in_flight.start()
    wait_until(lambda: in_flight.ids, timeout=10, what="the batch's ids")
    waited = threading.Thread(target=wait_for_audits_in_flight, daemon=True)
    waited.start()

    wait_until(waiting_for_the_audit_order_lock, timeout=10, what="the reader to wait")
    in_flight.commit.set()
    waited.join(timeout=10)
    assert not waited.is_alive()
    assert AuditEvent.objects.filter(pk__in=in_flight.ids).count() == 1
