"""A reference market feed SIMULATOR: the stand-in for an exchange or consolidated feed.

It produces what a real feed handler has to cope with, on purpose and reproducibly (seeded
RNG): a mean-reverting random walk of prices per instrument in whole ticks, one sequence number
per feed, and injected faults at configurable rates:

- duplicates (a message delivered twice, as on an A/B line pair),
- gaps (a message lost on the wire; it can be asked for again with ``retransmit`` while it is
  still in the bounded history, otherwise only a ``snapshot`` recovers),
- out-of-order delivery (a message held back and delivered after its successor).

No Decimal here: the walk is in integer ticks; the handler converts with the tick size.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FeedMessage:
    feed: str
    seq: int
    symbol: str
    price_ticks: int
    ts_ns: int


@dataclass(slots=True)
class FaultRates:
    duplicate: float = 0.0
    gap: float = 0.0
    reorder: float = 0.0


@dataclass
class ReferenceFeedSimulator:
    """``next_batch()`` returns what arrives on the wire next (faults included);
    ``retransmit(first, last)`` and ``snapshot()`` are the recovery requests."""

    start_ticks: dict[str, int]
    seed: int | None = None
    faults: FaultRates = field(default_factory=FaultRates)
    feed: str = "SIM"
    volatility_bp: int = 5  # one step moves at most this many basis points (at least a tick)
    reversion: float = 0.02  # pull toward the starting price per step
    history_size: int = 5_000
    clock_ns: object = time.time_ns

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.prices = dict(self.start_ticks)
        self.seq = 0
        self.history: deque[FeedMessage] = deque(maxlen=self.history_size)
        self.held: list[FeedMessage] = []
        self.injected = {"duplicate": 0, "gap": 0, "reorder": 0}

    def _step(self, symbol: str) -> int:
        anchor = self.start_ticks[symbol]
        price = self.prices[symbol]
        max_move = max(1, price * self.volatility_bp // 10_000)
        move = self.rng.randint(-max_move, max_move)
        pull = round((anchor - price) * self.reversion)
        price = max(1, price + move + pull)
        self.prices[symbol] = price
        return price

    def _emit(self, symbol: str) -> FeedMessage:
        self.seq += 1
        message = FeedMessage(self.feed, self.seq, symbol, self._step(symbol), self.clock_ns())
        self.history.append(message)
        return message

    def next_batch(self, size: int | None = None) -> list[FeedMessage]:
        """One update per instrument by default (a random subset when ``size`` is given)."""
        symbols = list(self.prices)
        if size is not None:
            symbols = [self.rng.choice(symbols) for _ in range(size)]
        wire: list[FeedMessage] = []
        for symbol in symbols:
            message = self._emit(symbol)
            roll = self.rng.random()
            if roll < self.faults.gap:
                self.injected["gap"] += 1
                continue  # lost: only the history keeps it
            if roll < self.faults.gap + self.faults.reorder:
                self.injected["reorder"] += 1
                self.held.append(message)  # delivered after the next one
                continue
            wire.append(message)
            if self.held:
                wire.extend(self.held)
                self.held.clear()
            if self.rng.random() < self.faults.duplicate:
                self.injected["duplicate"] += 1
                wire.append(message)
        return wire

    def retransmit(self, first_seq: int, last_seq: int) -> list[FeedMessage] | None:
        """Messages ``first_seq..last_seq`` again, or None if the history no longer holds them
        all (the handler must then ask for a snapshot)."""
        if not self.history or first_seq < self.history[0].seq or last_seq > self.seq:
            return None
        offset = first_seq - self.history[0].seq
        return [self.history[offset + i] for i in range(last_seq - first_seq + 1)]

    def snapshot(self) -> tuple[int, dict[str, int]]:
        """(sequence the snapshot is current at, price in ticks per symbol)."""
        return self.seq, dict(self.prices)
