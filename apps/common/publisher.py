"""Fire-and-forget publishing to Channels groups from synchronous code.

The applier and the market data process are synchronous loops; calling ``async_to_sync`` per
publish would build an event loop (and a fresh Redis connection of the channel layer) every
time (py-spy showed the applier under order entry building Redis connections). Instead one
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

logger = logging.getLogger(__name__)

MAX_PENDING_BATCHES = 10_000

Message = tuple[str, dict[str, Any]]


class GroupPublisher:
    """One loop thread, one queue, one sender task, for the channel layer ``layer`` (its alias
    in ``CHANNEL_LAYERS``). Queue items are lists of messages, or what a subclass resolves to
    them at send time (``_messages``)."""

    def __init__(self, layer: str, *, label: str) -> None:
        self.layer_alias = layer
        self.label = label
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self.dropped = 0
        self.sent = 0

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
            layer = get_channel_layer(self.layer_alias)
            if layer is None:
                continue
            by_group: dict[str, list[dict[str, Any]]] = {}
            for group, message in self._messages(item):
                by_group.setdefault(group, []).append(message)
            await asyncio.gather(*(self._send(layer, g, m) for g, m in by_group.items()))

    def _messages(self, item: Any) -> list[Message]:
        """The messages a queued item stands for, when it is its turn."""
        return item

    async def _send(self, layer: Any, group: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                await layer.group_send(group, message)
                self.sent += 1
            except Exception:
                self.dropped += 1
                logger.exception("%s publish to %s failed", self.label, group)

    def _put(self, item: Any) -> None:
        """On the loop: queue what ``publish`` was given (a subclass may hold some back)."""
        self._enqueue(item)

    def _enqueue(self, item: Any) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= MAX_PENDING_BATCHES and not isinstance(item, asyncio.Future):
            self._dropping(item)
            logger.warning("%s publisher queue full: dropping a batch", self.label)
            return
        self._queue.put_nowait(item)

    def _dropping(self, item: Any) -> None:
        self.dropped += len(item) if isinstance(item, list) else 1

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
