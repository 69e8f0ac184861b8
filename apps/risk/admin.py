"""Risk screens in the operations portal: held orders to decide, kill switches, locates."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.common.errors import DomainError
from apps.orders.services import order_approve_held, order_refuse_held
from apps.risk.choices import AlertKind, AlertStatus
from apps.risk.models import KillSwitch, Locate, RiskAlert
from apps.risk.services import kill_switch_engage, kill_switch_release


@admin.register(RiskAlert)
class RiskAlertAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "status",
        "code",
        "account",
        "order",
        "message",
        "decided_by",
    )
    list_filter = ("status", "kind", "code")
    search_fields = ("message", "account__number", "order__id")
    date_hierarchy = "created_at"
    list_select_related = ("account", "order", "decided_by")
    readonly_fields = [f.name for f in RiskAlert._meta.fields]
    actions = ("approve_held_orders", "refuse_held_orders")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[RiskAlert], decide) -> None:
        done = 0
        for alert in queryset.filter(
            kind=AlertKind.HELD_ORDER, status=AlertStatus.OPEN
        ).select_related("order"):
            try:
                decide(order=alert.order, actor=request.user)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{alert.order_id}: {error.message}", messages.ERROR)
        self.message_user(request, f"{done} held order(s) decided.", messages.SUCCESS)

    @admin.action(
        description="Approve the held orders (they go on to the market)", permissions=["change"]
    )
    def approve_held_orders(self, request: HttpRequest, queryset: QuerySet[RiskAlert]) -> None:
        self._decide(request, queryset, order_approve_held)

    @admin.action(description="Refuse the held orders (they are rejected)", permissions=["change"])
    def refuse_held_orders(self, request: HttpRequest, queryset: QuerySet[RiskAlert]) -> None:
        self._decide(request, queryset, order_refuse_held)


@admin.register(KillSwitch)
class KillSwitchAdmin(SimpleHistoryAdmin):
    list_display = ("scope", "client", "account", "active", "reason", "set_by", "set_at")
    list_filter = ("active", "scope")
    raw_id_fields = ("client", "account")
    readonly_fields = ("set_by", "set_at")
    actions = ("release",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # An engaged switch is only released (action), never edited into another target.
        if obj is not None:
            return [f.name for f in KillSwitch._meta.fields]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: KillSwitch, form, change: bool) -> None:
        if change:
            return
        engaged = kill_switch_engage(
            scope=obj.scope,
            reason=obj.reason,
            actor=request.user,
            client=obj.client,
            account=obj.account,
        )
        obj.pk = engaged.pk

    @admin.action(description="Release the selected kill switches", permissions=["change"])
    def release(self, request: HttpRequest, queryset: QuerySet[KillSwitch]) -> None:
        for switch in queryset.filter(active=True):
            kill_switch_release(switch=switch, actor=request.user)


@admin.register(Locate)
class LocateAdmin(admin.ModelAdmin):
    list_display = ("account", "instrument", "quantity", "used_quantity", "expires_at")
    raw_id_fields = ("account", "instrument")
    search_fields = ("account__number", "instrument__symbol")
