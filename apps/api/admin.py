"""Operations portal for API keys and the partner API's funding records."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.api.models import AchRelationship, ApiKey, Transfer
from apps.api.services import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["key_id", "account", "partner", "label", "created_at", "last_used_at",
                    "revoked_at"]  # fmt: skip
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "partner"]
    search_fields = ["key_id", "account__number", "partner__name", "label"]
    list_select_related = ["account", "partner"]
    readonly_fields = ["key_id", "account", "partner", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_salt", "secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key is issued by the service, which shows its secret once; the form cannot.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the audit trail refers to the key

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key, actor=request.user)
            count += 1
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)


@admin.register(AchRelationship)
class AchRelationshipAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "nickname", "bank_routing_number", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["account__number", "account_owner_name"]
    readonly_fields = [f.name for f in AchRelationship._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "direction", "amount", "status", "created_at", "settled_at"]
    list_filter = ["status", "direction"]
    search_fields = ["account__number", "id"]
    readonly_fields = [f.name for f in Transfer._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Transfer | None = None) -> bool:
        return False
