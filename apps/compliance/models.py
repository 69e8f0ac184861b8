"""The audit trail: one append-only row per state change, whoever made it."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEvent(models.Model):
    """Who did what to which object, when, and what changed. The database refuses UPDATE and
    DELETE on this table (a trigger, see the migration): history cannot be rewritten."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=100, help_text="User, API key or system process")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    account = models.ForeignKey(
        "clients.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_index=False,  # the (account, id) index below serves it
    )
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # Index(), not db_index=True: no second (LIKE-pattern) index written on every insert.
        indexes = [
            models.Index(fields=["action"]),
            models.Index(fields=["object_type", "object_id"]),
            # An account's events in order: a partner's trade events replayed after an id, a
            # page at a time (apps/api/streaming.py), and the foreign key's own lookups.
            models.Index(fields=["account", "id"], name="audit_account_id_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M:%S.%f}"
        return f"{when} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"


class RestrictedInstrument(models.Model):
    """The firm's restricted list: instruments nobody may trade while the entry is active (inside
    information, a pending deal), or only some clients when ``client`` is set."""

    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.CASCADE, related_name="restrictions"
    )
    client = models.ForeignKey(
        "clients.Client",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Blank: everyone",
    )
    reason = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.instrument} restricted: {self.reason}"
