"""The key lookup every API request makes: one statement that loads what ``select_related``
would, field for field, and nothing for a revoked or unknown key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.api.models import ApiKey
from apps.api.selectors import active_api_key
from apps.api.services import api_key_revoke
from tests.api.factories import issue_partner_key, issue_trading_key
from tests.clients.factories import AccountFactory, RiskLimitFactory, TradingPermissionFactory

pytestmark = pytest.mark.django_db


def same_row(loaded, expected) -> None:
    assert type(loaded) is type(expected)
    for field in expected._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert not loaded._state.adding


def test_a_trading_key_comes_with_everything_an_order_reads(django_assert_num_queries):
    account = AccountFactory(account_type="margin")
    TradingPermissionFactory(account=account, asset_classes=["equity", "option"], option_level=2)
    RiskLimitFactory(account=account, max_order_notional=Decimal("2500.50"))
    api_key, _ = issue_trading_key(account)
    expected = ApiKey.objects.select_related(
        "account__client", "account__permissions", "account__risk_limit"
    ).get(pk=api_key.pk)

    with django_assert_num_queries(1):
        loaded = active_api_key(key_id=api_key.key_id)
        same_row(loaded, expected)
        same_row(loaded.account, expected.account)
        same_row(loaded.account.client, expected.account.client)
        same_row(loaded.account.permissions, expected.account.permissions)
        same_row(loaded.account.risk_limit, expected.account.risk_limit)
        assert loaded.account.permissions.account is loaded.account
        assert loaded.account.permissions.allows("option")
        assert loaded.partner is None


def test_an_account_without_permissions_or_limits_has_none(django_assert_num_queries):
    api_key, _ = issue_trading_key(AccountFactory())

    with django_assert_num_queries(1):
        account = active_api_key(key_id=api_key.key_id).account
        assert getattr(account, "permissions", None) is None
        assert getattr(account, "risk_limit", None) is None


def test_a_partner_key_comes_with_its_partner(django_assert_num_queries):
    api_key, _ = issue_partner_key()

    with django_assert_num_queries(1):
        loaded = active_api_key(key_id=api_key.key_id)
        assert loaded.account is None
        same_row(loaded.partner, api_key.partner)


def test_a_revoked_or_unknown_key_is_none():
    api_key, _ = issue_trading_key()
    api_key_revoke(api_key=api_key)

    assert active_api_key(key_id=api_key.key_id) is None
    assert active_api_key(key_id="PKNOSUCHKEY") is None
