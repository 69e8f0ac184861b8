"""Operations portal for the ledger, positions and cash: all read-only.

Journals and postings are written by the ledger services and the database refuses to change
them; positions and cash balances are materialized from postings, so an edit here would break
the reconciliation that proves they agree.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.clients.admin import AccountScopedAdminMixin, ReadOnlyAdminMixin, sees_every_account
from apps.clients.selectors import accounts_visible_to
from apps.positions.models import CashBalance, Journal, LedgerAccount, Position, Posting


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    fields = ["ledger_account", "asset", "amount"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return super().get_queryset(request).select_related("ledger_account")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "kind", "account"]
    list_filter = ["kind"]
    search_fields = ["code", "account__number"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "reference", "description"]
    list_filter = ["kind"]
    search_fields = ["=id", "reference", "description"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PostingInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Journal]:
        queryset = super().get_queryset(request)
        if sees_every_account(request.user):
            return queryset
        # A journal belongs to the accounts its postings touch.
        visible = Posting.objects.filter(
            ledger_account__account__in=accounts_visible_to(request.user).values("pk")
        )
        return queryset.filter(pk__in=visible.values("journal_id"))


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    account_path = "ledger_account__account"
    list_display = ["journal", "ledger_account", "asset", "amount"]
    list_filter = ["ledger_account__kind", "journal__kind"]
    search_fields = ["asset", "ledger_account__code", "journal__reference"]
    list_select_related = ["journal", "ledger_account"]
    raw_id_fields = ["journal", "ledger_account"]
    show_full_result_count = False


@admin.register(Position)
class PositionAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "account",
        "instrument",
        "quantity",
        "average_cost",
        "realized_pnl",
        "updated_at",
    ]
    list_filter = ["instrument__asset_class"]
    search_fields = ["account__number", "account__client__legal_name", "instrument__symbol"]
    list_select_related = ["account", "instrument"]
    raw_id_fields = ["account", "instrument"]


@admin.register(CashBalance)
class CashBalanceAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, admin.ModelAdmin):
    list_display = ["account", "currency", "settled", "unsettled", "reserved", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["account__number", "account__client__legal_name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
