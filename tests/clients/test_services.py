import pytest
from django.db import IntegrityError, transaction
from guardian.shortcuts import get_objects_for_group

from apps.clients.choices import AccountType, AssetClass, ClientType
from apps.clients.models import Account
from apps.clients.services import account_open, partner_create
from apps.compliance.models import AuditEvent
from tests.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_opening_an_account_creates_its_permissions_limits_and_an_audit_event():
    client = ClientFactory()

    account = account_open(
        client=client,
        account_type=AccountType.MARGIN,
        asset_classes=[AssetClass.EQUITY],
        short_selling=True,
        risk_limits={"max_orders_per_second": 5},
    )

    assert account.number.startswith("BRK")
    assert account.permissions.allows(AssetClass.EQUITY)
    assert account.permissions.allows(AssetClass.ETF)  # ETFs trade under the equity permission
    assert not account.permissions.allows(AssetClass.OPTION)
    assert account.permissions.short_selling and account.permissions.margin
    assert account.risk_limit.max_orders_per_second == 5
    assert AuditEvent.objects.filter(action="account.opened", object_id=str(account.pk)).exists()


def test_a_cash_account_never_gets_short_selling_or_margin():
    account = account_open(
        client=ClientFactory(), account_type=AccountType.CASH, short_selling=True
    )

    assert not account.permissions.short_selling
    assert not account.permissions.margin


def test_account_numbers_are_unique_without_a_race():
    client = ClientFactory()
    numbers = {account_open(client=client).number for _ in range(5)}
    assert len(numbers) == 5


def test_a_partner_gets_object_permissions_on_what_it_opens_and_nothing_else():
    partner = partner_create(name="Acme Fintech")
    own = account_open(client=ClientFactory(partner=partner), partner=partner)
    other = account_open(client=ClientFactory())

    visible = get_objects_for_group(partner.group, "clients.view_account", klass=Account)

    assert list(visible) == [own]
    assert other not in visible


def test_a_retail_client_needs_a_date_of_birth_and_an_institution_an_lei():
    with pytest.raises(IntegrityError, match="client_identity_by_type"), transaction.atomic():
        ClientFactory(date_of_birth=None)
    with pytest.raises(IntegrityError, match="client_identity_by_type"), transaction.atomic():
        ClientFactory(client_type=ClientType.INSTITUTIONAL, date_of_birth=None, lei="short")
