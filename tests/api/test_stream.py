"""The trading stream (``/stream``) in the SDK's protocol, and the broker's SSE trade events."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import threading
import time
from decimal import Decimal

import pytest
import requests
from alpaca.broker.client import BrokerClient
from alpaca.trading.models import TradeUpdate
from alpaca.trading.stream import TradingStream
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from apps.api.events import trade_event_stream
from apps.api.streaming import EventWindow, order_group
from apps.compliance.models import AuditEvent
from apps.orders.applier import OrderUpdate
from brokerage.asgi import application
from tests.orders.factories import OrderFactory
from tests.processes import ProcessManager, start_daphne, start_web, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def update_for(order, event: str = "fill", event_id: int = 1) -> dict:
    update = OrderUpdate.of(
        order,
        event,
        dt.datetime(2026, 11, 23, 15, 0, 0, 123456, tzinfo=dt.UTC),
        price=Decimal("229.5"),
        qty=Decimal("10"),
        position_qty=Decimal("10"),
        execution_id="5d1a6b0e-3b4c-4d2e-8f00-0123456789ab",
        event_id=event_id,
    )
    return update.as_message()


def open_event_stream(url: str, key: tuple[str, str]) -> requests.Response:
    return requests.get(
        url + "/v1/events/trades",
        auth=key,
        stream=True,
        timeout=10,
        headers={"Accept": "text/event-stream"},
    )


def test_stream_authenticates_listens_and_relays_order_updates(demo):
    account = demo.accounts["DEMO0001"]
    order = OrderFactory(account=account, instrument__symbol="AAPL", status="filled")
    key_id, secret = demo.keys["DEMO0001"]

    async def scenario() -> list[dict]:
        socket_ = WebsocketCommunicator(application, "/stream")
        connected, _ = await socket_.connect()
        assert connected
        await socket_.send_to(
            text_data=json.dumps(
                {"action": "authenticate", "data": {"key_id": key_id, "secret_key": secret}}
            )
        )
        replies = [json.loads(await socket_.receive_from())]
        await socket_.send_to(
            text_data=json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})
        )
        replies.append(json.loads(await socket_.receive_from()))
        await asyncio.sleep(6)  # idle past redis-py's default 5 s socket timeout
        layer = get_channel_layer()
        await layer.group_send(order_group(account.pk), update_for(order))
        replies.append(json.loads(await socket_.receive_from(timeout=5)))
        await socket_.disconnect()
        return replies

    auth, listening, update = async_to_sync(scenario)()
    assert auth == {
        "stream": "authorization",
        "data": {"status": "authorized", "action": "authenticate"},
    }
    assert listening == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    assert update["stream"] == "trade_updates"
    parsed = TradeUpdate(**update["data"])  # what TradingStream._cast does
    assert parsed.event == "fill"
    assert parsed.order.id == order.pk
    assert parsed.price == 229.5


def test_stream_refuses_a_wrong_secret(demo):
    key_id, _ = demo.keys["DEMO0001"]

    async def scenario() -> dict:
        socket_ = WebsocketCommunicator(application, "/stream")
        await socket_.connect()
        await socket_.send_to(
            text_data=json.dumps(
                {"action": "authenticate", "data": {"key_id": key_id, "secret_key": "nope"}}
            )
        )
        reply = json.loads(await socket_.receive_from())
        await socket_.wait(timeout=1)
        return reply

    reply = async_to_sync(scenario)()
    assert reply["data"]["status"] == "unauthorized"


@pytest.mark.processes
def test_sdk_trading_stream_against_daphne(demo, tmp_path):
    """The SDK's own TradingStream, connected to a real daphne serving our ASGI app."""
    account = demo.accounts["DEMO0001"]
    order = OrderFactory(account=account, instrument__symbol="AAPL", status="new")
    manager = ProcessManager(tmp_path)
    port = start_daphne(manager)
    try:
        key_id, secret = demo.keys["DEMO0001"]
        stream = TradingStream(key_id, secret, url_override=f"ws://127.0.0.1:{port}/stream")
        received: list[TradeUpdate] = []
        got_one = threading.Event()

        async def on_update(update: TradeUpdate) -> None:
            received.append(update)
            got_one.set()

        stream.subscribe_trade_updates(on_update)
        runner = threading.Thread(target=stream.run, daemon=True)
        runner.start()
        layer = get_channel_layer()
        deadline = time.monotonic() + 20
        while not got_one.is_set() and time.monotonic() < deadline:
            # Until the SDK has authenticated and listened, nobody is in the group: resend.
            async_to_sync(layer.group_send)(order_group(account.pk), update_for(order, "new"))
            got_one.wait(0.5)
        stream.stop()
        runner.join(timeout=10)
        assert received, "no trade update reached the SDK"
        assert received[0].event == "new"
        assert received[0].order.id == order.pk
    finally:
        manager.stop_all()


def test_sse_trade_events_stream_the_partners_order_updates(demo, live_server):
    account = demo.accounts["DEMO0006"]
    order = OrderFactory(account=account, instrument__symbol="AAPL", status="new")
    key_id, secret = demo.keys["partner"]
    response = open_event_stream(live_server.url, (key_id, secret))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    lines = response.iter_lines(chunk_size=1, decode_unicode=True)
    assert next(lines) == ": connected"  # subscribed to the account groups
    time.sleep(6)  # idle past redis-py's default 5 s socket timeout
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(order_group(account.pk), update_for(order, "canceled"))
    data = next(line for line in lines if line.startswith("data: "))
    event = json.loads(data.removeprefix("data: "))
    assert event["event"] == "canceled"
    assert event["order"]["id"] == str(order.pk)
    assert event["account_id"] == str(account.pk)
    response.close()


def test_sse_trade_events_lose_nothing_across_keep_alives():
    order = OrderFactory(status="new")
    stream = trade_event_stream([str(order.account_id)], keepalive=0.05)
    assert next(stream) == ": connected\n\n"
    assert next(stream) == ": keep-alive\n\n"  # the wait for an update timed out

    # Sent while the stream is between two waits: it must still be the next event.
    async_to_sync(get_channel_layer().group_send)(
        order_group(order.account_id), update_for(order, "canceled")
    )

    event = next(line for line in stream if line.startswith("id: "))
    assert json.loads(event.split("data: ", 1)[1])["event"] == "canceled"
    stream.close()


def test_event_streams_leave_the_web_server_free_and_outlive_its_worker_timeout(demo, tmp_path):
    account = demo.accounts["DEMO0006"]
    order = OrderFactory(account=account, instrument__symbol="AAPL", status="new")
    manager = ProcessManager(tmp_path)
    try:
        url = start_web(manager, workers=2, timeout=2)
        # As many streams as there are web processes: each could hold a whole sync worker.
        streams = [open_event_stream(url, demo.keys["partner"]) for _ in range(2)]
        lines = [s.iter_lines(chunk_size=1, decode_unicode=True) for s in streams]
        assert [next(each) for each in lines] == [": connected", ": connected"]
        received: list[str] = []
        sdk = BrokerClient(*demo.keys["partner"], sandbox=True, url_override=url)
        threading.Thread(
            target=lambda: received.extend(sdk.get_trade_events()), daemon=True
        ).start()

        assert requests.get(url + "/readyz", timeout=5).status_code == 200
        time.sleep(4)  # twice the worker timeout: a worker silent that long is killed

        layer = get_channel_layer()

        def sdk_received() -> bool:  # resent until the SDK's stream has subscribed
            async_to_sync(layer.group_send)(order_group(account.pk), update_for(order, "canceled"))
            return bool(received)

        wait_until(sdk_received, timeout=10, what="the SDK's trade events", every=0.5)
        assert json.loads(received[0])["order"]["id"] == str(order.pk)
        for each in lines:
            data = next(line for line in each if line.startswith("data: "))
            assert json.loads(data.removeprefix("data: "))["event"] == "canceled"
        assert "WORKER TIMEOUT" not in manager.log("web")
        for stream in streams:
            stream.close()
    finally:
        manager.stop_all()


def test_a_web_process_refuses_streams_over_its_cap_and_frees_a_slot_when_the_client_leaves(
    demo, tmp_path
):
    manager = ProcessManager(
        tmp_path, API_EVENT_STREAMS_PER_PROCESS="1", API_EVENT_KEEPALIVE_SECONDS="1"
    )
    try:
        url = start_web(manager, workers=1)
        first = open_event_stream(url, demo.keys["partner"])
        assert first.status_code == 200

        refused = open_event_stream(url, demo.keys["partner"])
        assert refused.status_code == 429
        assert refused.json()["code"] == 42910000
        assert "event streams" in refused.json()["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert requests.get(url + "/readyz", timeout=5).status_code == 200  # requests still go

        first.close()  # the server finds out at its next keep-alive write
        wait_until(
            lambda: open_event_stream(url, demo.keys["partner"]).status_code == 200,
            timeout=15,
            what="the slot of the closed stream",
            every=0.5,
        )
    finally:
        manager.stop_all()


def recorded_update(order, event: str) -> AuditEvent:
    """An order update as the applier records it with its audit event."""
    at = timezone.now()
    return AuditEvent.objects.create(
        actor_label="applier",
        action=f"order.{event}",
        object_type="orders.order",
        object_id=str(order.pk),
        account_id=order.account_id,
        changes={"update": OrderUpdate.of(order, event, at).details(), "engine_time": str(at)},
    )


def test_a_replaying_stream_sends_an_update_both_recorded_and_live_once():
    order = OrderFactory(status="canceled")
    older, newest = recorded_update(order, "new"), recorded_update(order, "canceled")
    stream = trade_event_stream(
        [str(order.account_id)], keepalive=0.05, window=EventWindow(since_id=older.pk - 1)
    )
    assert next(stream) == ": connected\n\n"
    layer = get_channel_layer()
    group = order_group(order.account_id)
    # Published as the stream subscribed: the newest recorded update, then one after it.
    async_to_sync(layer.group_send)(group, update_for(order, "canceled", event_id=newest.pk))
    async_to_sync(layer.group_send)(group, update_for(order, "fill", event_id=newest.pk + 1))

    lines = itertools.islice(stream, 60)  # the events, then keep-alives for about 3 s
    sent = [json.loads(line.split("data: ", 1)[1]) for line in lines if line.startswith("id: ")]
    stream.close()
    assert [(e["event"], e["event_id"]) for e in sent] == [
        ("new", older.pk),
        ("canceled", newest.pk),
        ("fill", newest.pk + 1),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "since_id=-1",
        "since_id=abc",
        "since=yesterday",
        "since_id=5&since=2026-12-01T00:00:00Z",
        "until_id=9",
        "until=2026-12-01T00:00:00Z",
    ],
)
def test_a_bad_event_window_is_a_clear_error(demo, live_server, query):
    response = requests.get(
        f"{live_server.url}/v1/events/trades?{query}", auth=demo.keys["partner"], timeout=10
    )
    assert response.status_code == 422
    assert response.json()["code"] == 42210000
    assert response.json()["message"]


def test_a_live_stream_ends_at_the_first_update_past_until_id():
    order = OrderFactory(status="new")
    last = recorded_update(order, "new")  # the newest record: ids after it are still to come
    window = EventWindow(since_id=last.pk, until_id=last.pk + 1)  # nothing to replay yet
    stream = trade_event_stream([str(order.account_id)], keepalive=0.05, window=window)
    assert next(stream) == ": connected\n\n"
    layer, group = get_channel_layer(), order_group(order.account_id)
    async_to_sync(layer.group_send)(group, update_for(order, "fill", event_id=last.pk + 1))
    async_to_sync(layer.group_send)(group, update_for(order, "canceled", event_id=last.pk + 2))

    lines = list(itertools.islice(stream, 60))  # ends by itself: fewer lines than asked for
    assert len(lines) < 60
    sent = [json.loads(line.split("data: ", 1)[1]) for line in lines if line.startswith("id: ")]
    assert [e["event"] for e in sent] == ["fill"]


def test_a_window_in_time_replays_what_was_recorded_in_it_and_ends():
    order = OrderFactory(status="canceled")
    before = timezone.now()
    first, second = recorded_update(order, "new"), recorded_update(order, "canceled")
    window = EventWindow(since=before, until=timezone.now())  # a window already over

    lines = list(trade_event_stream([str(order.account_id)], keepalive=0.05, window=window))

    sent = [json.loads(line.split("data: ", 1)[1]) for line in lines if line.startswith("id: ")]
    assert [(e["event"], e["event_id"]) for e in sent] == [
        ("new", first.pk),
        ("canceled", second.pk),
    ]


def test_a_window_ending_live_sends_what_was_recorded_but_never_published():
    order = OrderFactory(status="new")
    first = recorded_update(order, "new")
    # Ends after the next id: the update recorded below, whose publish is lost.
    window = EventWindow(since_id=first.pk - 1, until_id=first.pk + 1)
    stream = trade_event_stream([str(order.account_id)], keepalive=0.05, window=window)
    assert next(stream) == ": connected\n\n"
    assert json.loads(next(stream).split("data: ", 1)[1])["event_id"] == first.pk
    assert next(stream) == ": keep-alive\n\n"  # live now

    unpublished = recorded_update(order, "fill")
    layer, group = get_channel_layer(), order_group(order.account_id)
    async_to_sync(layer.group_send)(
        group, update_for(order, "canceled", event_id=unpublished.pk + 1)
    )

    lines = list(itertools.islice(stream, 60))  # ends by itself: fewer lines than asked for
    assert len(lines) < 60
    sent = [json.loads(line.split("data: ", 1)[1]) for line in lines if line.startswith("id: ")]
    assert [(e["event"], e["event_id"]) for e in sent] == [("fill", unpublished.pk)]


def test_an_order_update_is_relayed_without_a_hop_to_the_sync_thread(demo, sync_thread_hops):
    account = demo.accounts["DEMO0001"]
    order = OrderFactory(account=account, instrument__symbol="AAPL", status="new")
    key_id, secret = demo.keys["DEMO0001"]
    update = update_for(order, "new")
    hops = sync_thread_hops

    async def scenario() -> tuple[int, dict]:
        socket_ = WebsocketCommunicator(application, "/stream")
        await socket_.connect()
        auth = {"action": "authenticate", "data": {"key_id": key_id, "secret_key": secret}}
        await socket_.send_to(text_data=json.dumps(auth))
        await socket_.receive_from()
        listen = {"action": "listen", "data": {"streams": ["trade_updates"]}}
        await socket_.send_to(text_data=json.dumps(listen))
        await socket_.receive_from()
        before = len(hops)  # the frames from the client went through it
        await get_channel_layer().group_send(order_group(account.pk), update)
        relayed = json.loads(await socket_.receive_from(timeout=5))
        hops_for_the_update = len(hops) - before
        await socket_.disconnect()
        return hops_for_the_update, relayed

    hops_for_the_update, relayed = async_to_sync(scenario)()
    assert relayed["data"]["event"] == "new"
    assert hops_for_the_update == 0
