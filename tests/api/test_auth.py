"""Who may call what: keys, revocation, scopes, throttling, error shape."""

from __future__ import annotations

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetOrdersRequest

from apps.api.models import ApiKey
from apps.api.services import api_key_authenticate, api_key_revoke
from tests.api.factories import issue_partner_key, issue_trading_key
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_wrong_secret_is_401_in_sdk_shape(demo, live_server):
    key_id, _ = demo.keys["DEMO0001"]
    client = TradingClient(key_id, "not-the-secret", url_override=live_server.url)
    with pytest.raises(APIError) as caught:
        client.get_account()
    assert caught.value.status_code == 401
    assert caught.value.code == 40110000
    assert caught.value.message == "request is not authorized"


def test_missing_key_is_401_and_no_endpoint_is_open(demo, live_server):
    for path in ("/v2/account", "/v2/orders", "/v2/assets", "/v2/clock", "/v1/accounts"):
        response = requests.get(live_server.url + path, timeout=5)
        assert response.status_code == 401, path
        assert response.json()["code"] == 40110000
    assert requests.get(live_server.url + "/healthz", timeout=5).status_code == 200


def test_revoked_key_is_refused(demo, live_server):
    api_key, secret = issue_trading_key(demo.accounts["DEMO0002"])
    client = TradingClient(api_key.key_id, secret, url_override=live_server.url)
    assert client.get_account().account_number == "DEMO0002"
    api_key_revoke(api_key=api_key)
    with pytest.raises(APIError) as caught:
        client.get_account()
    assert caught.value.status_code == 401


def test_secret_is_stored_only_as_a_salted_hmac(db):
    api_key, secret = issue_trading_key()
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert secret not in (stored.secret_hash, stored.secret_salt)
    assert len(stored.secret_hash) == 64
    assert api_key_authenticate(key_id=api_key.key_id, secret=secret) == stored
    assert api_key_authenticate(key_id=api_key.key_id, secret=secret + "x") is None
    assert stored.last_used_at is None
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_trading_key_cannot_see_another_accounts_order(demo, live_server):
    foreign = OrderFactory(account=demo.accounts["DEMO0003"])
    client = demo.trading(live_server.url, "DEMO0001")
    with pytest.raises(APIError) as caught:
        client.get_order_by_id(foreign.pk)
    assert caught.value.status_code == 404
    with pytest.raises(APIError) as caught:
        client.cancel_order_by_id(foreign.pk)
    assert caught.value.status_code == 404
    with pytest.raises(APIError):
        client.get_order_by_client_id(foreign.client_order_id)
    assert client.get_orders(GetOrdersRequest(status="all")) == []


def test_keys_do_not_cross_apis(demo, live_server):
    partner_id, partner_secret = demo.keys["partner"]
    # A partner key on the trading API, a trading key on the broker API: both refused.
    response = requests.get(
        live_server.url + "/v2/account",
        headers={"APCA-API-KEY-ID": partner_id, "APCA-API-SECRET-KEY": partner_secret},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["code"] == 40310000
    key_id, secret = demo.keys["DEMO0001"]
    response = requests.get(live_server.url + "/v1/accounts", auth=(key_id, secret), timeout=5)
    assert response.status_code == 403


def test_another_partners_key_sees_nothing_of_northwind(demo, live_server):
    api_key, secret = issue_partner_key()
    response = requests.get(
        f"{live_server.url}/v1/accounts/{demo.accounts['DEMO0006'].pk}",
        auth=(api_key.key_id, secret),
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json() == {"code": "account_not_found", "message": "account not found"}
    response = requests.get(
        f"{live_server.url}/v1/accounts", auth=(api_key.key_id, secret), timeout=5
    )
    assert response.json() == []


def test_throttling_answers_429_in_sdk_shape(demo, live_server, settings):
    settings.API_KEY_THROTTLE_RATE = "3/min"
    api_key, secret = issue_trading_key(demo.accounts["DEMO0002"])
    headers = {"APCA-API-KEY-ID": api_key.key_id, "APCA-API-SECRET-KEY": secret}
    statuses = [
        requests.get(live_server.url + "/v2/clock", headers=headers, timeout=5).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    response = requests.get(live_server.url + "/v2/clock", headers=headers, timeout=5)
    assert response.json()["code"] == 42910000
    assert int(response.headers["Retry-After"]) > 0
    # Another key has its own budget.
    other_key, other_secret = issue_trading_key(demo.accounts["DEMO0002"])
    other = {"APCA-API-KEY-ID": other_key.key_id, "APCA-API-SECRET-KEY": other_secret}
    assert requests.get(live_server.url + "/v2/clock", headers=other, timeout=5).ok


def test_malformed_json_and_validation_errors(demo, live_server):
    key_id, secret = demo.keys["DEMO0001"]
    headers = {
        "APCA-API-KEY-ID": key_id,
        "APCA-API-SECRET-KEY": secret,
        "Content-Type": "application/json",
    }
    response = requests.post(live_server.url + "/v2/orders", data="{", headers=headers, timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == 40010000
    response = requests.post(
        live_server.url + "/v2/orders",
        json={"symbol": "AAPL", "qty": "1", "side": "hold", "type": "market",
              "time_in_force": "day"},
        headers=headers,
        timeout=5,
    )  # fmt: skip
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 42210000
    assert body["field"] == "side"
    assert "side" in body["message"]
