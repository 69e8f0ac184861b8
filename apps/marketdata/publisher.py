"""Market data leaves each process through one ``GroupPublisher`` on the market data channel
layer, with quotes conflated: quotes are state, not events."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.common.publisher import GroupPublisher, Message

# At most one quote per symbol per this many seconds leaves the process (20 a second): the
# latest quote wins. Without a bound, a burst of top-of-book changes would queue in Redis in
# front of every server's receive loop, where no conflation can reach it.
QUOTE_MIN_INTERVAL = 0.05


class MarketDataPublisher(GroupPublisher):
    """While a quote for a group waits its turn, a newer one replaces it (the queue holds only
    the group's name). A burst of top-of-book changes then costs one group_send per symbol per
    turn, not one per change; everything else keeps its order."""

    def __init__(self) -> None:
        super().__init__(settings.MARKETDATA_CHANNEL_LAYER, label="market data")
        self.conflated = 0
        self._latest: dict[str, dict[str, Any]] = {}
        self._last_quote_at: dict[str, float] = {}

    def _put(self, item: Any) -> None:
        if not isinstance(item, list):
            self._enqueue(item)
            return
        ordered: list[Message] = []
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

    def _messages(self, item: Any) -> list[Message]:
        if isinstance(item, str):  # a conflated quote: the latest one now
            return [(item, self._latest.pop(item))]
        return item

    def _dropping(self, item: Any) -> None:
        if isinstance(item, str):
            self._latest.pop(item, None)
        super()._dropping(item)


publisher = MarketDataPublisher()
