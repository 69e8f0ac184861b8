"""The operations portal as a whole: every registered model's pages render for an administrator,
records written by services cannot be changed from it, and list pages stay within a query
budget however many rows they show."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from apps.clients.services import watchlist_add
from apps.compliance.models import RestrictedInstrument
from apps.compliance.services import audit_record
from apps.instruments.models import SettlementCycle
from apps.orders.models import ShardProgress
from tests.clients.factories import (
    AccountFactory,
    ClientUserFactory,
    PartnerFactory,
    RiskLimitFactory,
    TradingPermissionFactory,
    UserFactory,
)
from tests.instruments.factories import OptionFactory
from tests.orders.factories import ExecutionFactory, OrderFactory
from tests.positions.factories import CashBalanceFactory, PositionFactory, deposit_journal

PORTAL_APPS = {"clients", "instruments", "orders", "positions", "compliance"}

# Written by services only: the portal shows them and offers no add, change or delete.
READ_ONLY = {
    "orders.order",
    "orders.execution",
    "positions.journal",
    "positions.posting",
    "positions.ledgeraccount",
    "positions.position",
    "positions.cashbalance",
    "compliance.auditevent",
    "orders.shardprogress",
}

# The models that keep django-simple-history records; their admin shows that history.
WITH_HISTORY = {
    "clients.partner",
    "clients.client",
    "clients.account",
    "clients.tradingpermission",
    "clients.risklimit",
    "instruments.venue",
    "instruments.settlementcycle",
    "instruments.instrument",
}


def portal_models():
    return sorted(
        (model for model in admin.site._registry if model._meta.app_label in PORTAL_APPS),
        key=lambda model: model._meta.label_lower,
    )


@pytest.fixture
def administrator(db, otp_client):
    roles_sync()
    return otp_client(UserFactory(roles=[Role.ADMIN], is_staff=True))


@pytest.fixture
def one_of_everything(db):
    """At least one row of every portal model, linked the way services link them."""
    execution = ExecutionFactory(order__instrument=OptionFactory())
    account = execution.account
    PartnerFactory()
    ClientUserFactory(client=account.client)
    TradingPermissionFactory(account=account)
    RiskLimitFactory(account=account)
    PositionFactory(account=account, instrument=execution.instrument)
    CashBalanceFactory(account=account)
    deposit_journal(account=account)
    audit_record(action="order.filled", obj=execution.order, account_id=account.pk)
    venue = execution.instrument.venue
    venue.sessions.create(phase="continuous", starts_at="09:30", ends_at="16:00")
    venue.holidays.create(date="2026-12-25", name="Christmas Day")
    SettlementCycle.objects.create(asset_class="equity", days=1)
    RestrictedInstrument.objects.create(instrument=execution.instrument, reason="Pending deal")
    ShardProgress.objects.create(shard=0, last_seq=execution.engine_sequence)
    watchlist_add(user=UserFactory(), symbol=execution.instrument.symbol)
    return execution


def test_every_model_of_the_portal_apps_has_an_admin():
    models = {
        model._meta.label_lower
        for app_label in PORTAL_APPS
        for model in apps.get_app_config(app_label).get_models()
        if not model._meta.model_name.startswith("historical")  # simple-history's shadow tables
    }
    registered = {model._meta.label_lower for model in portal_models()}

    assert models - registered == set()


def test_every_portal_model_is_registered():
    registered = {model._meta.label_lower for model in portal_models()}
    assert registered >= READ_ONLY | WITH_HISTORY
    assert {"clients.clientuser", "instruments.tradingsession", "instruments.holiday"} <= registered


@pytest.mark.parametrize("label", sorted(WITH_HISTORY))
def test_models_with_history_use_the_history_admin(label):
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label_lower == label)
    assert isinstance(model_admin, SimpleHistoryAdmin)


@pytest.mark.django_db
@pytest.mark.parametrize("model", portal_models(), ids=lambda model: model._meta.label_lower)
def test_administrator_opens_every_page_of_every_model(administrator, one_of_everything, model):
    opts = model._meta
    obj = model._default_manager.first()
    base = f"admin:{opts.app_label}_{opts.model_name}"
    assert obj is not None, f"add a {opts.label_lower} row to the one_of_everything fixture"

    assert administrator.get(reverse(f"{base}_changelist")).status_code == 200
    assert administrator.get(reverse(f"{base}_changelist"), {"q": "T0"}).status_code == 200
    change = administrator.get(reverse(f"{base}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert administrator.get(reverse(f"{base}_history", args=[obj.pk])).status_code == 200
    add = administrator.get(reverse(f"{base}_add"))
    if opts.label_lower in READ_ONLY:
        assert add.status_code == 403
        assert change.context["has_change_permission"] is False
        assert change.context["has_delete_permission"] is False
    else:
        assert add.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "label", sorted(READ_ONLY - {"positions.position", "positions.cashbalance"})
)
def test_service_written_records_refuse_changes_from_the_portal(
    administrator, one_of_everything, label
):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model._default_manager.first()
    base = f"admin:{model._meta.app_label}_{model._meta.model_name}"

    assert administrator.post(reverse(f"{base}_change", args=[obj.pk]), {}).status_code == 403
    assert (
        administrator.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert model._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_client_change_page_offers_history_and_object_permissions(administrator, db):
    account = AccountFactory()

    response = administrator.get(reverse("admin:clients_client_change", args=[account.client.pk]))

    assert response.status_code == 200
    assert reverse("admin:clients_client_permissions", args=[account.client.pk]).encode() in (
        response.content
    )
    assert reverse("admin:clients_client_history", args=[account.client.pk]).encode() in (
        response.content
    )


LIST_BUDGET = 12  # session, user, permissions, OTP device, count, page, filters: never per row


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changelist",
    [
        "clients_client",
        "clients_account",
        "clients_risklimit",
        "orders_order",
        "orders_execution",
        "positions_position",
        "positions_cashbalance",
        "positions_posting",
        "compliance_auditevent",
    ],
)
def test_changelists_do_not_query_per_row(administrator, changelist):
    url = reverse(f"admin:{changelist}_changelist")
    _rows(3)
    with CaptureQueriesContext(connection) as few:
        assert administrator.get(url).status_code == 200
    _rows(12)
    with CaptureQueriesContext(connection) as many:
        assert administrator.get(url).status_code == 200

    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(many) <= LIST_BUDGET, len(many)


def _rows(count):
    for _ in range(count):
        execution = ExecutionFactory()
        account = execution.account
        RiskLimitFactory(account=account)
        PositionFactory(account=account, instrument=execution.instrument)
        CashBalanceFactory(account=account)
        deposit_journal(account=account)
        audit_record(action="order.filled", obj=execution.order, account_id=account.pk)
        OrderFactory(account=account)
