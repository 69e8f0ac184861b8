"""The API is tested through the official alpaca-py SDK against a live server (pytest-django's
``live_server``: a real WSGI server on a real port, over a transactional database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from alpaca.broker.client import BrokerClient
from alpaca.trading.client import TradingClient

from apps.api.models import ApiKey
from apps.clients.models import Account, Partner
from apps.common.demo import demo_api_keys, seed_demo


@pytest.fixture(autouse=True)
def _api_settings(settings):
    # Generous per-key rate in tests (the throttle test lowers it), and transfers settled by the
    # simulated rail in-process instead of through a worker on the shared Redis.
    settings.API_KEY_THROTTLE_RATE = "100000/min"
    from brokerage.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@dataclass
class Demo:
    accounts: dict[str, Account]
    partner: Partner
    keys: dict[str, tuple[str, str]]  # account number or "partner" -> (key_id, secret)

    def trading(self, url: str, number: str = "DEMO0001") -> TradingClient:
        key_id, secret = self.keys[number]
        return TradingClient(key_id, secret, paper=True, url_override=url)

    def broker(self, url: str) -> BrokerClient:
        key_id, secret = self.keys["partner"]
        return BrokerClient(key_id, secret, sandbox=True, url_override=url)


@pytest.fixture
def demo(transactional_db) -> Demo:
    return seeded_demo()


def seeded_demo() -> Demo:
    """Seed the demo data and collect its accounts, partner and API keys (database access must
    be open: transactional_db, or a module fixture that unblocks it)."""
    seed_demo()
    accounts = {a.number: a for a in Account.objects.filter(number__startswith="DEMO")}
    partner = Partner.objects.get(name="Northwind Fintech")
    keys = {}
    for owner, key_id, secret in demo_api_keys(list(accounts.values()), partner):
        assert ApiKey.objects.filter(key_id=key_id).exists()
        keys["partner" if "partner" in owner else owner["account"].number] = (key_id, secret)
    return Demo(accounts=accounts, partner=partner, keys=keys)
