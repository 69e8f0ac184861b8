"""Reads of reference data, and the per-process copy of instruments that order entry uses.

Every order needs its instrument (tick, lot, band, reference price, venue) before anything else,
and instruments change seldom: on an edit in the admin, and once a second at most when the
reference feed moves a price. So each process keeps the instruments it has served, and one
Redis read per order (``generation``) tells it whether any instrument changed since: a change
anywhere drops every copy in every process.

Whatever writes instruments or venues calls ``instruments_changed`` (``Instrument.save`` and
``Venue.save`` do; a ``QuerySet.update`` must call it itself). The new generation is published at
once and again after the commit: a process that read the old row while the writer's
transaction was still open, and stored it under the first new generation, drops it at the
second. ``MAX_AGE`` bounds what a writer that forgot to call it could leave behind.
"""

from __future__ import annotations

import time
import uuid

from django.core.cache import cache
from django.db import transaction

from apps.instruments.models import Instrument
from apps.matching.transport import redis_client

GENERATION_KEY = "instruments:generation"
MAX_AGE = 10.0  # seconds a copy is served at most, even when no change was announced

_copies: dict[str, tuple[float, Instrument]] = {}
_copies_generation: bytes | None = None


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


def instrument_for_order(*, symbol: str) -> Instrument | None:
    """The instrument with this symbol (``BTC/USD`` also finds ``BTC-USD``), with its venue, or
    None. A copy shared by the requests of this process: read it, never change it."""
    global _copies_generation
    current = generation()
    if current != _copies_generation:
        _copies.clear()
        _copies_generation = current
    symbol = symbol.upper()
    now = time.monotonic()
    copy = _copies.get(symbol)
    if copy is not None and now - copy[0] < MAX_AGE:
        return copy[1]
    instrument = (
        Instrument.objects.select_related("venue")
        .filter(symbol__in={symbol, symbol.replace("/", "-")})
        .first()
    )
    if instrument is not None:
        _copies[symbol] = (now, instrument)
    return instrument
