"""/ws/market/ over the real Redis channel layer (WebsocketCommunicator)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.marketdata.consumers import MarketDataConsumer
from apps.marketdata.publisher import publisher
from apps.marketdata.services import EngineBookProjector
from tests.clients.factories import UserFactory
from tests.instruments.factories import EquityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def book(seq, symbol, side, price, qty, count):
    return ("book", seq, time.time_ns(), symbol, side, price, qty, count)


def top(seq, symbol, bid, bid_qty, ask, ask_qty):
    return ("top", seq, time.time_ns(), symbol, bid, bid_qty, ask, ask_qty)


async def publish(projector, events):
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: (projector.apply(events), publisher.flush())
    )


async def connect(user):
    communicator = WebsocketCommunicator(MarketDataConsumer.as_asgi(), "/ws/market/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, timeout=3):
    """The next message: a frame holds one message object, or an array of the messages the
    server drained together (docs/marketdata.md)."""
    unread = communicator.__dict__.setdefault("unread", deque())
    if not unread:
        frame = json.loads(await communicator.receive_from(timeout=timeout))
        unread.extend(frame if isinstance(frame, list) else [frame])
    return unread.popleft()


@pytest.fixture
def acme(md):
    return EquityFactory(symbol="ACME")


@pytest.fixture
def user(md):
    return UserFactory(username="desk-user")


def test_anonymous_socket_is_closed_with_4401(md):
    from django.contrib.auth.models import AnonymousUser

    async def run():
        communicator = WebsocketCommunicator(MarketDataConsumer.as_asgi(), "/ws/market/")
        communicator.scope["user"] = AnonymousUser()
        connected, _ = await communicator.connect()
        assert connected
        output = await communicator.receive_output(timeout=2)
        assert output == {"type": "websocket.close", "code": 4401}

    async_to_sync(run)()


def test_subscribe_gets_a_snapshot_then_increments_in_sequence(acme, user):
    projector = EngineBookProjector()

    async def run():
        await publish(
            projector, [book(1, "ACME", "buy", 10000, 5, 1), book(2, "ACME", "sell", 10010, 7, 2)]
        )
        ws = await connect(user)
        await ws.send_json_to({"action": "subscribe", "channels": ["depth"], "symbols": ["ACME"]})
        snapshot = await receive(ws)
        assert snapshot == {
            "type": "snapshot", "channel": "depth", "symbol": "ACME", "seq": 2,
            "bids": [["100.00", "5", 1]], "asks": [["100.10", "7", 2]],
        }  # fmt: skip
        await publish(
            projector, [book(3, "ACME", "buy", 10001, 3, 1), book(4, "ACME", "sell", 10010, 0, 0)]
        )
        first, second = await receive(ws), await receive(ws)
        assert first == {
            "type": "depth",
            "symbol": "ACME",
            "seq": 3,
            "side": "buy",
            "price": "100.01",
            "qty": "3",
            "count": 1,
        }
        assert second["seq"] == 4 and second["qty"] == "0" and second["count"] == 0
        await ws.send_json_to({"action": "snapshot", "symbol": "ACME"})
        again = await receive(ws)
        assert again["type"] == "snapshot" and again["seq"] == 4
        assert again["bids"] == [["100.01", "3", 1], ["100.00", "5", 1]] and again["asks"] == []
        await ws.disconnect()

    async_to_sync(run)()


def test_quotes_carry_last_and_change_against_prev_close(acme, user):
    projector = EngineBookProjector()

    async def run():
        ws = await connect(user)
        await ws.send_json_to({"action": "subscribe", "channels": ["quotes"], "symbols": ["ACME"]})
        await asyncio.sleep(0.2)
        await publish(projector, [top(1, "ACME", 9990, 10, 10010, 20)])
        quote = await receive(ws)
        assert quote["type"] == "quote" and quote["symbol"] == "ACME"
        assert (quote["bid"], quote["bid_size"], quote["ask"], quote["ask_size"]) == (
            "99.90",
            "10",
            "100.10",
            "20",
        )
        assert (
            quote["last"] is None and quote["prev_close"] == "100.00" and quote["at"].endswith("Z")
        )
        await ws.disconnect()

    async_to_sync(run)()


def test_a_client_that_misses_increments_gets_a_fresh_snapshot(acme, user):
    projector = EngineBookProjector()

    async def run():
        ws = await connect(user)
        await ws.send_json_to({"action": "subscribe", "channels": ["depth"], "symbols": ["ACME"]})
        assert (await receive(ws))["seq"] == 0
        await publish(projector, [book(1, "ACME", "buy", 10000, 5, 1)])
        assert (await receive(ws))["seq"] == 1
        # Depth seq 2 is written but its message never reaches this client (a dropped publish).
        projector.depth_seq["ACME"] += 1
        await publish(projector, [book(2, "ACME", "buy", 10000, 6, 2)])
        recovered = await receive(ws)
        assert recovered["type"] == "snapshot" and recovered["seq"] == 3
        assert recovered["bids"] == [["100.00", "6", 2]]
        await ws.disconnect()

    async_to_sync(run)()


def test_bad_input_gets_an_error_message(acme, user):
    async def run():
        ws = await connect(user)
        await ws.send_to(text_data="not json")
        assert (await receive(ws))["code"] == "invalid_json"
        await ws.send_json_to({"action": "subscribe", "channels": ["news"], "symbols": ["ACME"]})
        assert (await receive(ws))["code"] == "unknown_channel"
        await ws.send_json_to({"action": "subscribe", "channels": ["quotes"], "symbols": ["NOPE"]})
        assert (await receive(ws))["code"] == "unknown_symbol"
        await ws.send_json_to({"action": "dance"})
        assert (await receive(ws))["code"] == "invalid_action"
        await ws.disconnect()

    async_to_sync(run)()
