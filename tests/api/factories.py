"""API keys for tests: ``issue_trading_key`` / ``issue_partner_key`` return (key, secret) through
the real service, since the secret exists only at issue time."""

from __future__ import annotations

from apps.api.models import ApiKey
from apps.api.services import api_key_issue
from apps.clients.models import Account, Partner
from tests.clients.factories import AccountFactory, PartnerFactory


def issue_trading_key(account: Account | None = None) -> tuple[ApiKey, str]:
    return api_key_issue(account=account or AccountFactory())


def issue_partner_key(partner: Partner | None = None) -> tuple[ApiKey, str]:
    return api_key_issue(partner=partner or PartnerFactory())
