"""Operations portal for the audit trail: read-only, as the database trigger makes it anyway."""

from __future__ import annotations

from django.contrib import admin

from apps.clients.admin import AccountScopedAdminMixin, ReadOnlyAdminMixin
from apps.compliance.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "actor_label", "action", "object_type", "object_id", "account"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "=object_id", "account__number"]
    list_select_related = ["account"]
    raw_id_fields = ["actor", "account"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
