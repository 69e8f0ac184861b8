"""Writing to the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from apps.common.bulk import copy_rows
from apps.common.rows import execute_sent, insert_one
from apps.compliance.models import AuditEvent


def audit_record(
    *,
    action: str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
    account_id: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction that makes the change, so the
    change and its record commit together."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    if actor is not None and getattr(actor, "is_authenticated", False):
        label = actor_label or actor.get_username()
    else:
        actor = None
        label = actor_label or "system"
    event = AuditEvent(
        action=action,
        object_type=object_type or "",
        object_id=object_id or "",
        actor=actor,
        actor_label=label,
        account_id=account_id,
        changes=changes or {},
    )
    insert_one(event)  # every order writes one: the statement is built once, not per call
    return event


class AuditEntry(NamedTuple):
    """One audit event of a system process, for :func:`audit_many`."""

    actor_label: str
    action: str
    object_type: str
    object_id: str
    account_id: Any
    changes: dict[str, Any]


# One encoder for every row: json.dumps(..., cls=...) builds a new one per call.
_encode_changes = DjangoJSONEncoder().encode


def audit_many(entries: Sequence[AuditEntry]) -> list[int]:
    """Append many audit events with one COPY (the applier records thousands per batch) and
    return their ids, in order. Call it inside the transaction that makes the changes.

    The ids are drawn from the table's sequence first (one statement), since COPY returns
    nothing: the applier's order updates carry them as their durable event ids. They are drawn
    holding ``AUDIT_ORDER_LOCK``, which the transaction keeps until it ends, so the ids drawn
    here become visible in their order, across processes (an applier per shard): a reader that
    sees one has seen every lower one. A partner resumes its trade events after the last id it
    saw, and a batch that drew lower ids but committed later would be skipped."""
    return audit_many_sent(entries)()


def audit_many_sent(entries: Sequence[AuditEntry]) -> Callable[[], list[int]]:
    """``audit_many`` in two steps: the ids' statement is sent now, and calling the result reads
    the ids and writes the events. Sent inside ``rows.pipeline()``, the ids are answered with
    the statements around them; call the result after the pipeline, as COPY cannot run in
    one."""
    if not entries:
        return lambda: []
    if not connection.in_atomic_block:
        raise TransactionManagementError("audit_many runs inside the changes' transaction")
    read_ids = execute_sent(_allocate_ids_statement(), [len(entries)])

    def write() -> list[int]:
        ids = [row[0] for row in read_ids()]
        now = timezone.now()
        columns = ["id", "occurred_at", "actor_label", "action", "object_type", "object_id"]
        copy_rows(
            AuditEvent._meta.db_table,
            [*columns, "account_id", "changes"],
            (
                (event_id, now, e.actor_label, e.action, e.object_type, e.object_id,
                 e.account_id, _encode_changes(e.changes))
                for event_id, e in zip(ids, entries, strict=True)
            ),
        )  # fmt: skip
        return ids

    return write


# Held by a transaction of audit_many from drawing its ids to its end. Any fixed key: it names
# this one use of PostgreSQL's advisory locks.
AUDIT_ORDER_LOCK = 0x61756469746F7264  # "auditord"


@cache
def _allocate_ids_statement() -> str:
    # The lock is taken before any id is drawn: each id is computed for a row of the join,
    # which needs the materialized lock's row first.
    table = AuditEvent._meta.db_table
    ordered = f"WITH ordered AS MATERIALIZED (SELECT pg_advisory_xact_lock({AUDIT_ORDER_LOCK}))"
    return (
        f"{ordered} SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608 (model metadata)
        "FROM ordered, generate_series(1, %s) ORDER BY 1"
    )


def wait_for_audits_in_flight() -> None:
    """Return once every transaction of ``audit_many`` that had drawn its ids has ended. A read
    after it sees every id drawn here before the call; ids drawn later are higher, and their
    events' times later."""
    with connection.cursor() as cursor:
        # Session-level, taken and given back at once: a transaction-level lock would be held
        # to the end of the caller's transaction, if it is in one, and stop the appliers.
        cursor.execute(f"SELECT pg_advisory_lock_shared({AUDIT_ORDER_LOCK})")
        cursor.execute(f"SELECT pg_advisory_unlock_shared({AUDIT_ORDER_LOCK})")
