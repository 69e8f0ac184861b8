"""``POST /v2/orders`` as one request: what it costs in queries once the key and the instrument
are known, and how the symbol is found."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import requests
from django.db import transaction
from django.test import Client

from apps.api.selectors import asset_id_for
from apps.orders.models import Order
from apps.positions.models import CashBalance
from tests.api.factories import issue_trading_key
from tests.instruments.factories import CryptoFactory
from tests.processes import ProcessManager, start_web
from tests.trading import funded_account

pytestmark = pytest.mark.django_db
D = Decimal

# The key with its account (1); SAVEPOINT, the cash lock, the risk snapshot, the order, the
# reservation, the audit event, RELEASE (7). The instrument comes from the process's copy.
STEADY_STATE_QUERIES = 8


@pytest.fixture
def post_order(stream_prefix):
    CryptoFactory(symbol="BTC-USD", reference_price=D("60000.00"))
    api_key, secret = issue_trading_key(funded_account())
    client = Client(headers={"APCA-API-KEY-ID": api_key.key_id, "APCA-API-SECRET-KEY": secret})

    def post(**fields):
        body = {"qty": "0.0001", "side": "buy", "type": "limit", "time_in_force": "gtc"}
        body.update(limit_price="59990.00", **fields)
        return client.post("/v2/orders", json.dumps(body), content_type="application/json")

    return post


def test_an_order_costs_eight_queries_once_key_and_instrument_are_known(
    post_order, django_assert_max_num_queries
):
    assert post_order(symbol="BTC-USD").status_code == 200  # records the key's use, reads BTC

    with django_assert_max_num_queries(STEADY_STATE_QUERIES):
        response = post_order(symbol="BTC-USD")

    assert response.status_code == 200
    assert response.json()["status"] == "pending_new"
    assert response.json()["replaced_by"] is None


def test_the_symbol_may_be_written_with_a_slash_or_given_as_the_asset_id(post_order):
    by_pair = post_order(symbol="btc/usd")
    by_asset_id = post_order(symbol=str(asset_id_for("BTC-USD")))

    assert by_pair.status_code == by_asset_id.status_code == 200
    assert by_pair.json()["symbol"] == by_asset_id.json()["symbol"] == "BTC-USD"
    assert Order.objects.count() == 2


def test_an_unknown_symbol_is_refused_in_the_sdk_shape(post_order):
    response = post_order(symbol="NOPE")

    assert response.status_code == 422
    assert "NOPE" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_an_order_stuck_behind_a_lock_is_a_503_and_leaves_nothing_behind(demo, tmp_path):
    account = demo.accounts["DEMO0001"]
    manager = ProcessManager(tmp_path, DATABASE_STATEMENT_TIMEOUT_MS="500")
    try:
        url = start_web(manager)
        key_id, secret = demo.keys["DEMO0001"]
        with transaction.atomic():  # another writer holds the account's cash row
            CashBalance.objects.select_for_update().get(account=account, currency="USD")
            started = time.monotonic()
            response = requests.post(
                f"{url}/v2/orders",
                json={"symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit",
                      "time_in_force": "day", "limit_price": "229", "client_order_id": "stuck-1"},
                headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret},
                timeout=10,
            )  # fmt: skip
            waited = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["code"] == "database_timeout"
        assert response.headers["Retry-After"] == "1"
        assert waited < 5  # the statement timeout, not the client's
        assert not Order.objects.filter(client_order_id="stuck-1").exists()
    finally:
        manager.stop_all()
