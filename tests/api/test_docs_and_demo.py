"""The OpenAPI schema and docs page, the demo credentials, and activities from executions."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
import requests
from alpaca.broker.requests import GetAccountActivitiesRequest
from alpaca.trading.enums import ActivityType
from django.core.management import call_command

from apps.api.services import api_key_authenticate
from tests.orders.factories import ExecutionFactory, OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_schema_is_valid_and_every_view_documents_itself(tmp_path):
    """No view is left out ("unable to guess serializer") and no two operations share an id:
    the generator's warnings fail this test."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yml")
    schema = (tmp_path / "s.yml").read_text()
    assert "operationId: get_v2_orders_by_order_id" in schema


def test_schema_lists_the_sdk_paths_and_docs_page_is_served_offline(demo, live_server):
    key_id, secret = demo.keys["DEMO0001"]
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
    response = requests.get(
        live_server.url + "/api/schema/?format=json", headers=headers, timeout=30
    )
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/v2/account",
        "/v2/orders",
        "/v2/orders/{order_id}",
        "/v2/positions/{symbol_or_asset_id}",
        "/v1/accounts",
        "/v1/accounts/{account_id}/transfers",
        "/v1/journals",
        "/v2/stocks/bars",
        "/v1beta3/crypto/{loc}/latest/orderbooks",
    ):
        assert path in paths, path
    assert set(paths["/v2/orders"]) >= {"get", "post", "delete"}
    docs = requests.get(live_server.url + "/api/docs/", headers=headers, timeout=10)
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs.text
    assert requests.get(live_server.url + "/api/schema/", timeout=10).status_code == 401


def test_demo_credentials_print_working_api_keys(demo):
    out = StringIO()
    call_command("demo_credentials", "--json", stdout=out)
    credentials = json.loads(out.getvalue())
    assert credentials["web"]
    assert {t["account_number"] for t in credentials["trading"]} == {
        f"DEMO000{n}" for n in range(1, 7)
    }
    for entry in credentials["trading"]:
        api_key = api_key_authenticate(key_id=entry["key_id"], secret=entry["secret"])
        assert str(api_key.account_id) == entry["account_id"]
    partner = credentials["partner"]
    assert api_key_authenticate(key_id=partner["key_id"], secret=partner["secret"]).partner
    # Seeding again keeps them valid.
    from apps.common.demo import seed_demo

    seed_demo()
    again = json.loads(_credentials())
    assert again["partner"] == partner
    assert api_key_authenticate(key_id=partner["key_id"], secret=partner["secret"])


def _credentials() -> str:
    out = StringIO()
    call_command("demo_credentials", "--json", stdout=out)
    return out.getvalue()


def test_fills_appear_as_fill_activities(demo, live_server):
    account = demo.accounts["DEMO0006"]
    order = OrderFactory(
        account=account, instrument__symbol="AAPL", quantity=Decimal(4), status="filled",
        filled_quantity=Decimal(4), average_fill_price=Decimal("99.50"),
    )  # fmt: skip
    ExecutionFactory(order=order)
    activities = demo.broker(live_server.url).get_account_activities(
        GetAccountActivitiesRequest(account_id=account.pk)
    )
    kinds = [a.activity_type for a in activities]
    assert kinds == [ActivityType.FILL, ActivityType.CSD]  # newest first
    fill = activities[0]
    assert fill.order_id == order.pk
    assert fill.qty == 4
    assert fill.price == 99.5
    assert fill.type == "fill"
    page = demo.broker(live_server.url).get_account_activities(
        GetAccountActivitiesRequest(account_id=account.pk, page_size=1),
        max_items_limit=None,
    )
    assert [a.id for a in page] == [a.id for a in activities]  # paged with page_token
