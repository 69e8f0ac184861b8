"""``/ws/orders/``: the desk's order updates over the real Redis channel layer."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from apps.orders.applier import OrderUpdate
from apps.web.consumers import DeskOrdersConsumer
from brokerage.settings.messaging import channel_layers
from tests.clients.factories import ClientFactory, ClientUserFactory, UserFactory
from tests.orders.factories import OrderFactory
from tests.trading import funded_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    """The production layers, under a prefix of this test's own."""
    prefix = f"test-desk-{uuid.uuid4().hex}"
    settings.CHANNEL_LAYERS = channel_layers(redis_url=settings.REDIS_URL, prefix=prefix)


def trader_with_account():
    user = UserFactory()
    client = ClientFactory()
    ClientUserFactory(client=client, user=user)
    return user, funded_account(cash=0, client=client)


def update(account, event="fill") -> dict:
    return OrderUpdate.of(
        OrderFactory(account=account),
        event,
        dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC),
        price=Decimal("229.50"),
        qty=Decimal(10),
    ).as_message()


async def open_socket(user, path="/ws/orders/"):
    path, _, query = path.partition("?")
    socket_ = WebsocketCommunicator(DeskOrdersConsumer.as_asgi(), f"{path}?{query}")
    socket_.scope["user"] = user
    socket_.scope["session"] = {}
    connected, _ = await socket_.connect()
    assert connected
    return socket_


def test_a_trader_receives_updates_of_their_accounts_only(sync_thread_hops):
    user, mine = trader_with_account()
    _, theirs = trader_with_account()

    theirs_update, my_update = update(theirs), update(mine)

    async def scenario():
        socket_ = await open_socket(user)
        hello = json.loads(await socket_.receive_from())
        layer = get_channel_layer()
        before = len(sync_thread_hops)
        await layer.group_send(f"orders.{theirs.pk}", theirs_update)
        await layer.group_send(f"orders.{mine.pk}", my_update)
        received = json.loads(await socket_.receive_from(timeout=3))
        nothing_else = await socket_.receive_nothing(timeout=0.3)
        hops = len(sync_thread_hops) - before
        await socket_.disconnect()
        return hello, received, nothing_else, hops

    hello, received, nothing_else, hops = async_to_sync(scenario)()
    assert hops == 0  # the handler uses no database: no hop to the sync thread before it
    assert hello == {"type": "subscribed", "accounts": [str(mine.pk)]}
    assert received["type"] == "order.update"
    assert (received["event"], received["price"], received["qty"]) == ("fill", "229.50", "10")
    assert "order" not in received  # the desk reloads its blotters instead
    assert nothing_else


def test_asking_for_someone_elses_account_joins_nothing():
    user, _mine = trader_with_account()
    _, theirs = trader_with_account()

    theirs_update = update(theirs)

    async def scenario():
        socket_ = await open_socket(user, f"/ws/orders/?accounts={theirs.pk},not-a-uuid")
        hello = json.loads(await socket_.receive_from())
        await get_channel_layer().group_send(f"orders.{theirs.pk}", theirs_update)
        nothing = await socket_.receive_nothing(timeout=0.3)
        await socket_.disconnect()
        return hello, nothing

    hello, nothing = async_to_sync(scenario)()
    assert hello == {"type": "subscribed", "accounts": []}
    assert nothing


def test_anonymous_is_closed_with_4401():
    async def scenario():
        socket_ = await open_socket(AnonymousUser())
        return await socket_.receive_output(timeout=2)

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}
