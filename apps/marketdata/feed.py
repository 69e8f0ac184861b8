"""The reference feed handler: from a sequenced external feed to ``Instrument.reference_price``.

What it does with each message, in order:

1. Validate: known symbol, positive integer price, integer sequence; anything else is dropped,
   counted and reported (a data-quality alert) because it means the feed or our mapping is
   broken.
2. Sequence: a message at or below the last delivered sequence, or already waiting, is a
   duplicate and dropped. One that runs ahead waits in a small reorder window: out-of-order
   delivery usually fills the hole within a few messages.
3. Recover: when the hole is still open after the window fills (or it waited
   ``max_wait_polls`` polls), it is a gap: ask the source to retransmit the missing range; if the
   source no longer has it, take a snapshot, jump to its sequence and raise an alert (prices in
   between are lost; the snapshot makes the latest state right again).
4. Normalize ticks to a Decimal price on the instrument's grid, keep the latest per symbol, and
   write reference prices to the database at most once per ``write_interval`` (one second by
   default): price bands and marking to market need the current price, not every tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from apps.marketdata.simulator import FeedMessage

logger = logging.getLogger(__name__)


class FeedSource(Protocol):
    def next_batch(self, size: int | None = None) -> list[FeedMessage]: ...
    def retransmit(self, first_seq: int, last_seq: int) -> list[FeedMessage] | None: ...
    def snapshot(self) -> tuple[int, dict[str, int]]: ...


@dataclass
class FeedStats:
    delivered: int = 0
    duplicates: int = 0
    reordered: int = 0
    gaps: int = 0
    recovered: int = 0
    snapshots: int = 0
    invalid: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class FeedHandler:
    """Sequencing, recovery and normalization of one feed (see the module doc)."""

    source: FeedSource
    tick_sizes: dict[str, Decimal]
    reorder_window: int = 8
    max_wait_polls: int = 2
    write_interval: float = 1.0
    store: Callable[[dict[str, Decimal]], Any] | None = None
    alert: Callable[[str, str], Any] | None = None
    clock: Callable[[], float] = time.monotonic
    expected: int = 1
    stats: FeedStats = field(default_factory=FeedStats)

    def __post_init__(self) -> None:
        self.waiting: dict[int, FeedMessage] = {}
        self.waited_polls = 0
        self.latest: dict[str, Decimal] = {}
        self.unwritten: dict[str, Decimal] = {}
        self.last_write = float("-inf")

    # --- steps ---------------------------------------------------------------------------

    def _valid(self, message: Any) -> bool:
        ok = (
            isinstance(message, FeedMessage)
            and isinstance(message.seq, int)
            and isinstance(message.price_ticks, int)
            and message.price_ticks > 0
            and message.symbol in self.tick_sizes
        )
        if not ok:
            self.stats.invalid += 1
            self._alert(
                "feed_invalid_message", f"Reference feed sent an invalid message: {message!r}"
            )
        return ok

    def _deliver(self, message: FeedMessage) -> None:
        price = Decimal(message.price_ticks) * self.tick_sizes[message.symbol]
        self.latest[message.symbol] = price
        self.unwritten[message.symbol] = price
        self.expected = message.seq + 1
        self.stats.delivered += 1

    def _drain_waiting(self) -> None:
        while self.expected in self.waiting:
            self._deliver(self.waiting.pop(self.expected))
            self.stats.reordered += 1
        # Anything left at or below what was delivered is now a duplicate.
        for seq in [s for s in self.waiting if s < self.expected]:
            del self.waiting[seq]

    def accept(self, message: Any) -> None:
        """One message off the wire."""
        if not self._valid(message):
            return
        if message.seq < self.expected or message.seq in self.waiting:
            self.stats.duplicates += 1
            return
        if message.seq == self.expected:
            self._deliver(message)
            self._drain_waiting()
            return
        self.waiting[message.seq] = message

    def _recover(self) -> None:
        """The hole before the first waiting message is a gap: retransmit, else snapshot."""
        self.stats.gaps += 1
        last_missing = min(self.waiting) - 1
        missed = self.source.retransmit(self.expected, last_missing)
        if missed is not None:
            for message in missed:
                if self._valid(message) and message.seq == self.expected:
                    self._deliver(message)
            self._drain_waiting()
            if not self.waiting or self.expected > last_missing:
                self.stats.recovered += 1
                return
        seq, prices = self.source.snapshot()
        self.stats.snapshots += 1
        for symbol, ticks in prices.items():
            if symbol in self.tick_sizes and isinstance(ticks, int) and ticks > 0:
                price = Decimal(ticks) * self.tick_sizes[symbol]
                self.latest[symbol] = self.unwritten[symbol] = price
        self.expected = seq + 1
        self._drain_waiting()
        self._alert(
            "feed_gap_unrecoverable",
            f"Reference feed gap at {last_missing} could not be retransmitted; recovered from a "
            f"snapshot at {seq}.",
        )

    def poll(self, messages: list[Any]) -> None:
        """Everything that arrived since the last poll; then recover what the window cannot."""
        for message in messages:
            self.accept(message)
        if not self.waiting:
            self.waited_polls = 0
            return
        self.waited_polls += 1
        if len(self.waiting) > self.reorder_window or self.waited_polls > self.max_wait_polls:
            self._recover()
            self.waited_polls = 0

    def flush(self, *, force: bool = False) -> dict[str, Decimal]:
        """Write the reference prices that changed, at most once per ``write_interval``."""
        now = self.clock()
        if not self.unwritten or (not force and now - self.last_write < self.write_interval):
            return {}
        written, self.unwritten = self.unwritten, {}
        self.last_write = now
        if self.store is not None:
            self.store(written)
        return written

    def _alert(self, code: str, message: str) -> None:
        logger.warning("reference feed: %s", message)
        if self.alert is not None:
            try:
                self.alert(code, message)
            except Exception:
                logger.exception("could not raise a data quality alert")


def build_simulated_feed(*, seed: int | None = None, faults: Any = None) -> FeedHandler:
    """A handler on the simulator, seeded from every instrument with a reference price."""
    from apps.instruments.models import Instrument
    from apps.marketdata.services import data_quality_alert, reference_prices_store
    from apps.marketdata.simulator import FaultRates, ReferenceFeedSimulator

    instruments = list(
        Instrument.objects.filter(reference_price__isnull=False, tradable=True).values_list(
            "symbol", "reference_price", "tick_size"
        )
    )
    start = {s: max(1, int(price / tick)) for s, price, tick in instruments}
    simulator = ReferenceFeedSimulator(
        start_ticks=start,
        seed=seed,
        faults=faults or FaultRates(duplicate=0.01, gap=0.002, reorder=0.01),
    )
    return FeedHandler(
        source=simulator,
        tick_sizes={s: tick for s, _price, tick in instruments},
        store=reference_prices_store,
        alert=lambda code, message: data_quality_alert(code=code, message=message),
    )


def run_reference_feed(
    *, stop: threading.Event | None = None, seed: int | None = None, interval: float = 0.25
) -> None:
    """The feed handler loop of the market data process: poll the simulator a few times a
    second, write reference prices once a second, publish the counters to Redis."""
    from apps.marketdata import keys
    from apps.matching.transport import redis_client

    handler = build_simulated_feed(seed=seed)
    while stop is None or not stop.is_set():
        try:
            handler.poll(handler.source.next_batch())
            if handler.flush():
                redis_client().hset(keys.feed_status_key(), mapping=handler.stats.as_dict())
        except Exception:
            logger.exception("reference feed: poll failed")
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
