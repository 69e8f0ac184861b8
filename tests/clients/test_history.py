import pytest

from apps.clients.choices import AccountStatus
from tests.clients.factories import AccountFactory, RiskLimitFactory

pytestmark = pytest.mark.django_db


def test_changing_an_account_keeps_its_previous_version_in_history():
    account = AccountFactory(status=AccountStatus.ACTIVE)

    account.status = AccountStatus.DISABLED
    account.save()

    versions = list(account.history.order_by("history_date").values_list("status", flat=True))
    assert versions == [AccountStatus.ACTIVE, AccountStatus.DISABLED]


def test_a_risk_limit_change_is_recorded_with_its_old_value():
    limit = RiskLimitFactory(max_orders_per_second=10)

    limit.max_orders_per_second = 2
    limit.save()

    previous = limit.history.order_by("history_date").first()
    assert previous.max_orders_per_second == 10
    assert limit.history.count() == 2
