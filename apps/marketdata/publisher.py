"""Fire-and-forget publishing to Channels groups from synchronous code.

The applier and the market data process are synchronous loops; calling ``async_to_sync`` per
publish would build an event loop (and a fresh Redis connection of the channel layer) every
time: in the applier that was a third of its CPU under order entry. Instead one background
thread per publisher owns an event loop and a single sender task that drains an in-order queue:
each group gets its messages in the order they were published (depth increments and an order's
updates must), groups of one batch are sent side by side, the caller never waits for Redis, and
the queue is bounded so a stalled Redis costs dropped notifications (logged), never an applier
stuck behind it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

MAX_PENDING_BATCHES = 10_000
# At most one quote per symbol per this many seconds leaves the process (20 a second): the
# latest quote wins. Without a bound, a burst of top-of-book changes would queue in Redis in
# front of every server's receive loop, where no conflation can reach it.
QUOTE_MIN_INTERVAL = 0.05

Message = tuple[str, dict[str, Any]]


class GroupPublisher:
    """One loop thread, one queue, one sender task, for one channel layer (``layer``: its alias
    in ``CHANNEL_LAYERS``; None for the market data layer)."""

    def __init__(self, layer: str | None = None, *, label: str = "market data") -> None:
        self._layer_alias = layer
        self.label = label
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[list[Message] | str | asyncio.Future] | None = None
        self.dropped = 0
        self.sent = 0
        self.conflated = 0
        # Quotes are state, not events: while one for a group waits its turn, a newer one
        # replaces it (the queue holds only the group's name). A burst of top-of-book changes
        # then costs one group_send per symbol per turn, not one per change.
        self._latest: dict[str, dict[str, Any]] = {}
        self._last_quote_at: dict[str, float] = {}

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and self._loop.is_running():
                return self._loop
            ready = threading.Event()

            def run() -> None:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
                self._loop = loop
                self._queue = asyncio.Queue()
                self._drainer = loop.create_task(self._drain())
                ready.set()
                loop.run_forever()

            name = f"{self.label.replace(' ', '-')}-publisher"
            threading.Thread(target=run, name=name, daemon=True).start()
            ready.wait(5)
            assert self._loop is not None
            return self._loop

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if isinstance(item, asyncio.Future):
                if not item.done():
                    item.set_result(None)
                continue
            layer = get_channel_layer(self._layer_alias or settings.MARKETDATA_CHANNEL_LAYER)
            if layer is None:
                continue
            if isinstance(item, str):
                item = [(item, self._latest.pop(item))]
            by_group: dict[str, list[dict[str, Any]]] = {}
            for group, message in item:
                by_group.setdefault(group, []).append(message)
            await asyncio.gather(*(self._send(layer, g, m) for g, m in by_group.items()))

    async def _send(self, layer: Any, group: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                await layer.group_send(group, message)
                self.sent += 1
            except Exception:
                self.dropped += 1
                logger.exception("%s publish to %s failed", self.label, group)

    def _put(self, item: Any) -> None:
        assert self._queue is not None
        if isinstance(item, list):
            ordered = []
            for group, message in item:
                if message.get("channel") != "quotes":
                    ordered.append((group, message))
                elif group in self._latest:
                    self._latest[group] = message
                    self.conflated += 1
                else:
                    self._latest[group] = message
                    if ordered:
                        self._enqueue(ordered)
                        ordered = []
                    assert self._loop is not None
                    now = self._loop.time()
                    due = self._last_quote_at.get(group, 0.0) + QUOTE_MIN_INTERVAL
                    self._last_quote_at[group] = max(now, due)
                    if due <= now:
                        self._enqueue(group)
                    else:
                        self._loop.call_at(due, self._enqueue, group)
            if ordered:
                self._enqueue(ordered)
            return
        self._enqueue(item)

    def _enqueue(self, item: Any) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= MAX_PENDING_BATCHES and not isinstance(item, asyncio.Future):
            if isinstance(item, str):
                self._latest.pop(item, None)
            self.dropped += len(item) if isinstance(item, list) else 1
            logger.warning("%s publisher queue full: dropping a batch", self.label)
            return
        self._queue.put_nowait(item)

    def publish(self, messages: Iterable[Message]) -> None:
        """Queue ``(group, message)`` pairs; returns at once, never raises."""
        batch = list(messages)
        if not batch:
            return
        try:
            loop = self._ensure_started()
            loop.call_soon_threadsafe(self._put, batch)
        except Exception:
            logger.exception("%s publish could not be queued", self.label)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far has been handed to the channel layer (tests,
        benchmarks and shutdown)."""
        loop = self._ensure_started()

        async def marker() -> None:
            future = loop.create_future()
            self._put(future)
            await future

        try:
            asyncio.run_coroutine_threadsafe(marker(), loop).result(timeout)
            return True
        except Exception:
            return False


publisher = GroupPublisher()
