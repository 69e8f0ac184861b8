"""Writing to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

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
    return AuditEvent.objects.create(
        action=action,
        object_type=object_type or "",
        object_id=object_id or "",
        actor=actor,
        actor_label=label,
        account_id=account_id,
        changes=changes or {},
    )
