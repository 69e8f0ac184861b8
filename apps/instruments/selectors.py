"""Reads of reference data, and the per-process copies of it that order entry and the applier
use.

Every order needs its instrument (tick, lot, band, reference price, venue) before anything else,
and every trade its settlement date (the asset class's cycle over the venue's holidays); both
change seldom: on an edit in the admin, and once a second at most when the reference feed moves
a price. So each process keeps what it has read (``ReferenceCopies``), and one Redis read per
use (``generation``) tells it whether any reference data changed since: a change anywhere drops
every copy in every process.

Whatever writes instruments, venues, holidays or settlement cycles calls
``instruments_changed`` (their ``save`` and ``delete`` do; a ``QuerySet.update`` must call it
itself). The new generation is published at
once and again after the commit: a process that read the old row while the writer's
transaction was still open, and stored it under the first new generation, drops it at the
second. ``MAX_AGE`` bounds what a writer that forgot to call it could leave behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

from apps.instruments.models import Instrument
from apps.matching.transport import redis_client

GENERATION_KEY = "instruments:generation"
MAX_AGE = 10.0  # seconds a copy is served at most, even when no change was announced
T = TypeVar("T")


def instruments_changed() -> None:
    """Announce that instruments or venues changed: every process drops its copies, now and
    again when the current transaction commits."""
    _publish_generation()
    transaction.on_commit(_publish_generation)


def _generation_key() -> str:
    # In the cache's key space (its prefix), read and written with the plain Redis client: a
    # GET through Django's cache layer costs several times the Python of the GET itself.
    return cache.make_key(GENERATION_KEY)


def _publish_generation() -> None:
    redis_client().set(_generation_key(), uuid.uuid4().hex)


def generation() -> bytes:
    """The current generation of instruments (a random token, never reused: a cache flushed
    and refilled cannot bring back a generation some process still holds copies of)."""
    key = _generation_key()
    client = redis_client()
    token = client.get(key)
    if token is None:
        client.set(key, uuid.uuid4().hex, nx=True)
        token = client.get(key)
    return token


class ReferenceCopies(Generic[T]):
    """Values read from reference data, kept by this process while the generation stays the
    same and for ``MAX_AGE`` at most. A copy is shared by the process's threads: read it, never
    change it."""

    def __init__(self) -> None:
        self._copies: dict[Hashable, tuple[float, T]] = {}
        self._generation: bytes | None = None

    def get(self, key: Hashable, load: Callable[[], T | None]) -> T | None:
        """The copy of ``key``, or ``load()`` kept as its copy (None is not kept)."""
        current = generation()
        if current != self._generation:
            self._copies.clear()
            self._generation = current
        now = time.monotonic()
        copy = self._copies.get(key)
        if copy is not None and now - copy[0] < MAX_AGE:
            return copy[1]
        value = load()
        if value is not None:
            self._copies[key] = (now, value)
        return value


_instruments: ReferenceCopies[Instrument] = ReferenceCopies()
_instrument_ids: ReferenceCopies[int] = ReferenceCopies()


def instrument_for_order(*, symbol: str) -> Instrument | None:
    """The instrument with this symbol (``BTC/USD`` also finds ``BTC-USD``), with its venue, or
    None. A copy shared by the requests of this process: read it, never change it."""
    symbol = symbol.upper()
    return _instruments.get(
        symbol,
        lambda: (
            Instrument.objects.select_related("venue")
            .filter(symbol__in={symbol, symbol.replace("/", "-")})
            .first()
        ),
    )


def instrument_id(symbol: str) -> int | None:
    """The primary key of the instrument with exactly this symbol, or None (kept per process)."""
    return _instrument_ids.get(
        symbol,
        lambda: Instrument.objects.filter(symbol=symbol).values_list("pk", flat=True).first(),
    )
