"""``GET /v1/events/trades``: the partner's order updates as server-sent events, for every
account it opened (``account_id`` narrows to one): the recorded ones from ``since`` or after
``since_id`` first, if asked, then live ones, until ``until`` / ``until_id`` or for as long as
the client stays connected. Each event's ``event_id`` (and SSE ``id``) is the id of the audit
event that records it, so a client that lost its connection resumes with ``since_id`` and
misses nothing.

Each stream gets its own channel-layer instance on its own event loop (the process-wide layer is
bound to one loop and must not be shared across request threads) and joins the applier's
``orders.<account_id>`` groups. A comment line every ``API_EVENT_KEEPALIVE_SECONDS`` keeps proxies
from closing an idle stream, and a write to a client that left ends it.

A stream holds a thread of its web process for as long as it lasts (gunicorn.conf.py), so a
process holds at most ``API_EVENT_STREAMS_PER_PROCESS`` of them and refuses more with a 429:
the other threads stay free for requests.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

from channels.layers import channel_layers
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from apps.api.base import BrokerScope
from apps.api.serializers import TradeEventsInputSerializer
from apps.api.streaming import (
    LIVE_ONLY,
    EventWindow,
    order_group,
    recorded_trade_updates,
    recorded_up_to,
    rest_of_window,
    trade_update_payload,
)
from apps.common.errors import NotFound

# The ids of the updates a stream sent (the newest this many), so that none is sent twice: a
# live copy of a replayed update, published while the stream subscribed and read the records,
# or a recorded update read again at the window's end. Beyond this many in one window, the
# oldest could be sent twice (with their ids): never lost.
SENT_IDS_KEPT = 10_000


def trade_event_stream(
    account_ids: list[str], *, keepalive: float, window: EventWindow = LIVE_ONLY
) -> Iterator[str]:
    """The stream's lines: subscribed to the accounts' live updates first, then the recorded
    ones the window asks for (an update committed meanwhile is in both: sent once), then live
    ones until the client leaves or the window's end, where what the records hold of the window
    and was not sent live goes out before the stream ends."""
    loop = asyncio.new_event_loop()
    layer = channel_layers.make_backend("default")  # this stream's own
    groups = [order_group(a) for a in account_ids]
    channel = loop.run_until_complete(layer.new_channel())
    # One receive at a time, waited for with a keep-alive timeout but never cancelled: a
    # cancelled pub/sub receive unsubscribes its channel, and what arrives until the next
    # receive subscribes it again would be lost.
    receiving: asyncio.Task | None = None
    sent: dict[int, None] = {}  # insertion-ordered: the oldest is dropped first

    def send(payload: dict[str, Any]) -> str:
        sent[payload["event_id"]] = None
        if len(sent) > SENT_IDS_KEPT:
            del sent[next(iter(sent))]
        return _event(payload)

    try:
        for group in groups:
            loop.run_until_complete(layer.group_add(group, channel))
        yield ": connected\n\n"
        replayed_to = window.since_id
        if window.replays:
            for payload in recorded_trade_updates(account_ids, window):
                replayed_to = payload["event_id"]
                yield send(payload)
        if window.until_id is None or not recorded_up_to(window.until_id):
            while not window.over(timezone.now()):
                if receiving is None:
                    receiving = loop.create_task(layer.receive(channel))
                left = window.seconds_left(timezone.now())
                wait = keepalive if left is None else min(keepalive, left)
                done, _ = loop.run_until_complete(asyncio.wait({receiving}, timeout=wait))
                if not done:
                    if not window.over(timezone.now()):
                        yield ": keep-alive\n\n"
                    continue
                message, receiving = receiving.result(), None
                if message.get("type") != "order.update" or message.get("event_id") in sent:
                    continue
                if window.past_end(message.get("event_id"), timezone.now()):
                    break
                payload = trade_update_payload(message)
                if payload is not None:
                    yield send(payload)
        if window.ends and window.replays:
            for payload in rest_of_window(account_ids, window, replayed_to):
                if payload["event_id"] not in sent:
                    yield send(payload)
    finally:
        if receiving is not None:
            receiving.cancel()
            loop.run_until_complete(asyncio.gather(receiving, return_exceptions=True))
        for group in groups:
            loop.run_until_complete(layer.group_discard(group, channel))
        if isinstance(layer, RedisPubSubChannelLayer):
            # Forgets this layer's subscriptions and closes its connection; the core layer's
            # flush would empty every queue under the prefix, so it only closes its pools.
            loop.run_until_complete(layer.flush())
        else:
            loop.run_until_complete(layer.close_pools())
        loop.close()


def _event(payload: dict[str, Any]) -> str:
    """An SSE event: the update with Alpaca's ``at`` and ``event_id``, the id as its ``id``."""
    payload["at"] = payload["timestamp"]
    event_id = payload.get("event_id")
    prefix = f"id: {event_id}\n" if event_id is not None else ""
    return f"{prefix}data: {json.dumps(payload)}\n\n"


# The event streams this process may hold at once, one slot each.
STREAM_SLOTS = threading.BoundedSemaphore(settings.API_EVENT_STREAMS_PER_PROCESS)


class SlotHoldingStream:
    """A stream's events, holding its slot until the server closes the response (PEP 3333
    servers always do, also when the client left before the first event was read)."""

    def __init__(self, events: Iterator[str]) -> None:
        self._events = events
        self._open = True

    def __iter__(self) -> Iterator[str]:
        return self._events

    def close(self) -> None:
        if self._open:
            self._open = False
            self._events.close()
            STREAM_SLOTS.release()


class EventStreamRenderer(BaseRenderer):
    """Lets ``Accept: text/event-stream`` (what the SDK sends) through content negotiation; the
    stream itself is a StreamingHttpResponse, and an error before it starts is JSON."""

    media_type = "text/event-stream"
    format = "event-stream"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return json.dumps(data).encode()


class TradeEventsApi(BrokerScope):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="broker_events_trades",
        parameters=[TradeEventsInputSerializer],
        responses={200: None},
        summary="Server-sent events: order updates of the partner's accounts, recorded then live",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = self.query(TradeEventsInputSerializer)
        accounts = self.partner_accounts()
        if "account_id" in query:
            accounts = accounts.filter(pk=query["account_id"])
            if not accounts.exists():
                raise NotFound("account_not_found", "account not found")
        ids = [str(pk) for pk in accounts.values_list("pk", flat=True)]
        window = EventWindow(
            since=query.get("since"),
            until=query.get("until"),
            since_id=query.get("since_id"),
            until_id=query.get("until_id"),
        )
        if not STREAM_SLOTS.acquire(blocking=False):
            raise Throttled(
                wait=settings.API_EVENT_KEEPALIVE_SECONDS,
                detail="this server holds as many event streams as it serves at once",
            )
        events = trade_event_stream(
            ids, keepalive=settings.API_EVENT_KEEPALIVE_SECONDS, window=window
        )
        response = StreamingHttpResponse(
            SlotHoldingStream(events), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
