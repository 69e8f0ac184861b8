"""Operations portal for compliance: the audit trail (read-only, as the database trigger makes it
anyway) and the firm's restricted list."""

from __future__ import annotations

from django.contrib import admin

from apps.clients.admin import AccountScopedAdminMixin, ReadOnlyAdminMixin
from apps.compliance.models import AuditEvent, RestrictedInstrument


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "actor_label", "action", "object_type", "object_id", "account"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "=object_id", "account__number"]
    list_select_related = ["account"]
    raw_id_fields = ["actor", "account"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(RestrictedInstrument)
class RestrictedInstrumentAdmin(admin.ModelAdmin):
    list_display = ["instrument", "client", "reason", "active", "created_at"]
    list_filter = ["active", "instrument__asset_class"]
    search_fields = ["instrument__symbol", "instrument__name", "client__legal_name", "reason"]
    list_select_related = ["instrument", "client"]
    autocomplete_fields = ["instrument", "client"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"
