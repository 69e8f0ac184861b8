"""Operations portal for partners, clients, accounts, trading permissions and risk limits.

Who sees which client and account is decided row by row: a global ``view`` permission (a staff
role) shows every row; otherwise only the rows the user holds a django-guardian object permission
on (an account officer, a partner's staff). The mixins here are shared by the admins of the
models that hang off an account (orders, positions, cash, audit), so all of them narrow the same
way, through ``apps.clients.selectors.accounts_visible_to``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from guardian.admin import GuardedModelAdminMixin
from guardian.shortcuts import get_objects_for_user
from simple_history.admin import SimpleHistoryAdmin

from apps.clients.models import (
    Account,
    Client,
    ClientUser,
    Partner,
    RiskLimit,
    TradingPermission,
    Watchlist,
    WatchlistEntry,
)
from apps.clients.selectors import accounts_visible_to

_DEFAULT_CHANGE_FORM = "admin/change_form.html"


def _codename(model: type[Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def sees_every_account(user: AbstractBaseUser) -> bool:
    """Staff roles hold ``clients.view_account`` globally; everyone else is narrowed per object."""
    return user.has_perm("clients.view_account")


class ReadOnlyAdminMixin:
    """For records written only by services (orders, executions, the ledger, the audit trail):
    the portal shows them and never adds, edits or deletes one, whatever the role's permissions.
    The database refuses most such writes anyway; this keeps the buttons from offering them."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AccountScopedAdminMixin:
    """Narrows a model that belongs to an account to the accounts the user may see, for users
    without the global ``clients.view_account`` permission (account officers, partner staff)."""

    account_path = "account"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if sees_every_account(request.user):
            return queryset
        visible = accounts_visible_to(request.user).values("pk")
        return queryset.filter(**{f"{self.account_path}__in": visible})


class ObjectPermissionAdminMixin:
    """Row-level visibility from django-guardian, for Client and Account.

    A global permission covers every row. Without it, the changelist shows exactly the objects
    the user (or one of its groups) holds a ``view`` or ``change`` object permission on, and the
    model appears on the admin index as soon as the user holds one. Managing object permissions
    (guardian's "Object permissions" pages) needs the global ``change`` permission: an officer
    who may edit one client must not be able to hand that client to someone else.
    """

    object_permission_actions: tuple[str, ...] = ("view", "change")

    def _perms(self, actions: Iterable[str]) -> list[str]:
        return [_codename(self.model, action) for action in actions]

    def _has_global(self, user: AbstractBaseUser, actions: Iterable[str]) -> bool:
        return any(user.has_perm(perm) for perm in self._perms(actions))

    def _has_on_object(self, user: AbstractBaseUser, actions: Iterable[str], obj: Model) -> bool:
        return any(user.has_perm(perm, obj) for perm in self._perms(actions))

    def _permitted(self, user: AbstractBaseUser, queryset: QuerySet) -> QuerySet:
        return get_objects_for_user(
            user,
            self._perms(self.object_permission_actions),
            klass=queryset,
            any_perm=True,
            accept_global_perms=False,
        )

    def _holds_any_object_permission(self, request: HttpRequest) -> bool:
        # The admin asks several times per page (index, changelist, each permission flag);
        # remember the answer for this request instead of repeating the guardian queries.
        cache: dict[str, bool] = request.__dict__.setdefault("_object_permission_cache", {})
        key = self.model._meta.label_lower
        if key not in cache:
            cache[key] = self._permitted(request.user, self.model._default_manager.all()).exists()
        return cache[key]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if self._has_global(request.user, self.object_permission_actions):
            return queryset
        return self._permitted(request.user, queryset)

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Django lists an app on the index only for users with some global permission in it;
        # an officer holding object permissions alone must still find the model there.
        return super().has_module_permission(request) or self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        if self._has_global(user, self.object_permission_actions):
            return True
        if obj is None:
            return self._holds_any_object_permission(request)
        return self._has_on_object(user, self.object_permission_actions, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        if self._has_global(user, ("change",)):
            return True
        # Model level (obj None) stays global-only: it gates bulk actions and guardian's
        # object-permission pages.
        return obj is not None and self._has_on_object(user, ("change",), obj)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().render_change_form(request, context, *args, **kwargs)
        if not self._has_global(request.user, ("change",)):
            # Guardian's template adds the "Object permissions" button; hide it from those who
            # cannot use it.
            response.template_name = [_DEFAULT_CHANGE_FORM]
        return response


class ClientUserInline(admin.TabularInline):
    model = ClientUser
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "login acting for this client"
    verbose_name_plural = "logins acting for this client"


class AccountInline(admin.TabularInline):
    """The client's accounts, as links; accounts are opened and edited on their own page."""

    model = Account
    fields = ["number", "account_type", "base_currency", "status", "partner", "created_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        queryset = super().get_queryset(request).select_related("partner")
        if sees_every_account(request.user):
            return queryset
        return queryset.filter(pk__in=accounts_visible_to(request.user).values("pk"))

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True  # the rows themselves are narrowed in get_queryset


class _AccountPartInline(admin.StackedInline):
    """A one-to-one part of the account, editable inline only when the account itself is: a role
    that may change risk limits but only view accounts edits them on the risk limit page, instead
    of meeting a save button that the read-only account form would refuse."""

    can_delete = False

    def _account_changeable(self, request: HttpRequest, obj: Model | None) -> bool:
        return self.admin_site._registry[Account].has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_add_permission(request, obj) and self._account_changeable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._account_changeable(
            request, obj
        )


class TradingPermissionInline(_AccountPartInline):
    model = TradingPermission


class RiskLimitInline(_AccountPartInline):
    model = RiskLimit


@admin.register(Partner)
class PartnerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "is_active", "group", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_select_related = ["group"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"


@admin.register(Client)
class ClientAdmin(ObjectPermissionAdminMixin, GuardedModelAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "legal_name",
        "client_type",
        "country",
        "kyc_status",
        "compliance_status",
        "partner",
        "is_active",
        "created_at",
    ]
    list_filter = [
        "client_type",
        "kyc_status",
        "compliance_status",
        "is_active",
        "partner",
        "country",
    ]
    search_fields = ["legal_name", "email", "tax_id", "lei", "accounts__number"]
    list_select_related = ["partner"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["client_type", "legal_name", "partner", "is_active"]}),
        ("Identity", {"fields": ["date_of_birth", "lei", "tax_id", "country"]}),
        ("Contact", {"fields": ["email", "phone", "street_address", "city", "postal_code"]}),
        ("Onboarding", {"fields": ["kyc_status", "compliance_status"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [ClientUserInline, AccountInline]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A client is deactivated, never deleted: its history is part of the books.
        return False


@admin.register(Account)
class AccountAdmin(ObjectPermissionAdminMixin, GuardedModelAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "number",
        "client",
        "account_type",
        "base_currency",
        "status",
        "partner",
        "created_at",
    ]
    list_filter = ["status", "account_type", "base_currency", "partner"]
    search_fields = ["number", "client__legal_name", "client__email"]
    list_select_related = ["client", "partner"]
    autocomplete_fields = ["client"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "updated_at"]
    fields = [
        "id",
        "number",
        "client",
        "account_type",
        "base_currency",
        "status",
        "partner",
        "created_at",
        "updated_at",
    ]
    inlines = [TradingPermissionInline, RiskLimitInline]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # An account is closed (status ACCOUNT_CLOSED), never deleted.
        return False


@admin.register(ClientUser)
class ClientUserAdmin(admin.ModelAdmin):
    list_display = ["user", "client", "can_trade"]
    list_filter = ["can_trade"]
    search_fields = ["user__username", "user__email", "client__legal_name"]
    list_select_related = ["user", "client"]
    autocomplete_fields = ["user", "client"]


@admin.register(TradingPermission)
class TradingPermissionAdmin(AccountScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["account", "asset_class_list", "option_level", "short_selling", "margin"]
    list_filter = ["option_level", "short_selling", "margin"]
    search_fields = ["account__number", "account__client__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]

    @admin.display(description="Asset classes")
    def asset_class_list(self, obj: TradingPermission) -> str:
        return ", ".join(obj.asset_classes) or "-"


@admin.register(RiskLimit)
class RiskLimitAdmin(AccountScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "account",
        "max_order_quantity",
        "max_order_notional",
        "max_position_quantity",
        "max_gross_exposure",
        "daily_loss_limit",
        "max_orders_per_second",
    ]
    search_fields = ["account__number", "account__client__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


class WatchlistEntryInline(admin.TabularInline):
    model = WatchlistEntry
    autocomplete_fields = ["instrument"]
    extra = 0


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    """A user's desk watchlist: support staff can look at it when a trader asks."""

    list_display = ["user", "updated_at"]
    search_fields = ["user__username"]
    inlines = [WatchlistEntryInline]


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(admin.ModelAdmin):
    list_display = ["watchlist", "instrument", "position"]
    list_select_related = ["watchlist__user", "instrument"]
    search_fields = ["watchlist__user__username", "instrument__symbol"]
