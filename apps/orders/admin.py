"""Operations portal for orders and executions: read-only, the order services write them."""

from __future__ import annotations

from django.contrib import admin

from apps.clients.admin import AccountScopedAdminMixin, ReadOnlyAdminMixin
from apps.orders.models import Execution, Order, ShardProgress


class ExecutionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Execution
    fields = [
        "executed_at",
        "side",
        "quantity",
        "price",
        "liquidity",
        "commission",
        "regulatory_fees",
        "settle_date",
    ]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "instrument",
        "side",
        "order_type",
        "time_in_force",
        "quantity",
        "limit_price",
        "filled_quantity",
        "status",
        "source",
    ]
    list_filter = [
        "status",
        "side",
        "order_type",
        "time_in_force",
        "source",
        "instrument__asset_class",
    ]
    search_fields = ["=id", "client_order_id", "account__number", "instrument__symbol"]
    search_help_text = "Order id (exact), client order id, account number or symbol"
    list_select_related = ["account", "instrument"]
    raw_id_fields = ["account", "instrument", "replaces"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a count(*) over every order on each page load is not free
    inlines = [ExecutionInline]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "executed_at",
        "account",
        "instrument",
        "side",
        "quantity",
        "price",
        "liquidity",
        "commission",
        "regulatory_fees",
        "settle_date",
    ]
    list_filter = ["side", "liquidity", "settle_date", "instrument__asset_class"]
    search_fields = [
        "=id",
        "=order__id",
        "order__client_order_id",
        "account__number",
        "instrument__symbol",
    ]
    search_help_text = "Execution or order id (exact), client order id, account number or symbol"
    list_select_related = ["account", "instrument"]
    raw_id_fields = ["order", "account", "instrument"]
    date_hierarchy = "executed_at"
    show_full_result_count = False


@admin.register(ShardProgress)
class ShardProgressAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where the applier stands per matcher shard: for operations watching a backlog, never to
    edit (moving the checkpoint would skip or double-apply engine events)."""

    list_display = ["shard", "last_seq", "updated_at"]
    ordering = ["shard"]
