"""The trading calendar turned into engine commands: session phases and GTD expiry.

The engine reads no clock (docs/engine.md), so something outside it must say "the opening
auction starts now" and "expire what is due". That is this module: a pure function for the
phase of a venue at a UTC instant (:func:`phase_at`, also used by the matcher to pick the
state a freshly built book starts in), and the loop of ``manage.py run_scheduler`` that sends
``set_session`` when a venue's phase changes and ``expire_orders`` every second.

The last phase sent per venue is kept in Redis (``<prefix>:scheduler``), so a restarted
scheduler does not re-send the phase it already sent: a symbol halted by its dynamic band in
the middle of the day must stay halted until an operator resumes it or the phase changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError
from redis import RedisError

from apps.instruments.choices import SessionPhase
from apps.instruments.models import Instrument, Venue
from apps.matching.commands import datetime_to_ns, expire_orders_command, set_session_command
from apps.matching.engine import AddInstrument
from apps.matching.specs import instrument_spec
from apps.matching.transport import publish_commands, redis_client

log = logging.getLogger(__name__)

CLOSED = SessionPhase.CLOSED.value
CONTINUOUS = SessionPhase.CONTINUOUS.value
# Phases that belong to the end of the day: on a half day they move with the early close.
CLOSING_PHASES = frozenset({SessionPhase.PRE_CLOSE.value, SessionPhase.CLOSING_AUCTION.value})


@dataclass(frozen=True)
class VenueCalendar:
    """A venue's calendar as plain data, so the phase computation needs no database."""

    mic: str
    timezone: str
    is_24x7: bool = False
    # (phase, starts_at, ends_at) in venue local time.
    sessions: tuple[tuple[str, dt.time, dt.time], ...] = ()
    # date -> early close (a half day) or None (closed all day).
    holidays: dict[dt.date, dt.time | None] = field(default_factory=dict)


def _minutes(t: dt.time) -> float:
    return t.hour * 60 + t.minute + t.second / 60 + t.microsecond / 60_000_000


def sessions_on(calendar: VenueCalendar, day: dt.date) -> list[tuple[str, float, float]]:
    """The day's phases as (phase, start minute, end minute) in local time; [] when closed.

    A half day keeps the phases' order and lengths up to the early close: the closing phases
    (pre-close, closing auction) move so that the last one ends at the early close, the
    continuous session before them is cut short, and anything after the close is dropped.
    """
    if day.weekday() >= 5:
        return []
    rows = sorted(
        ((str(p), _minutes(s), _minutes(e)) for p, s, e in calendar.sessions), key=lambda r: r[1]
    )
    if day not in calendar.holidays:
        return rows
    early = calendar.holidays[day]
    if early is None or not rows:
        return []
    close = _minutes(early)
    day_end = max(end for _, _, end in rows)
    shift = close - day_end
    closing = [(p, s + shift, e + shift) for p, s, e in rows if p in CLOSING_PHASES]
    first_closing = min((s for _, s, _ in closing), default=close)
    result = []
    for phase, start, end in rows:
        if phase in CLOSING_PHASES:
            continue
        end = min(end, first_closing)
        if start < end:
            result.append((phase, start, end))
    result.extend(closing)
    return sorted(result, key=lambda r: r[1])


def phase_at(calendar: VenueCalendar, at: dt.datetime) -> str:
    """The venue's session phase at the aware instant ``at`` (``closed`` between phases,
    on weekends and holidays; ``continuous`` all the time for a 24x7 venue)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    if calendar.is_24x7:
        return CONTINUOUS
    local = at.astimezone(ZoneInfo(calendar.timezone))
    minute = _minutes(local.time())
    for phase, start, end in sessions_on(calendar, local.date()):
        if start <= minute < end:
            return phase
    return CLOSED


def calendar_for(venue: Venue) -> VenueCalendar:
    """Read a venue's sessions and holidays (two queries)."""
    return VenueCalendar(
        mic=venue.mic,
        timezone=venue.timezone,
        is_24x7=venue.is_24x7,
        sessions=tuple(
            (s.phase, s.starts_at, s.ends_at) for s in venue.sessions.all().order_by("starts_at")
        ),
        holidays={h.date: h.early_close for h in venue.holidays.all()},
    )


def venue_phases(at: dt.datetime) -> dict[int, str]:
    """Phase now for every venue: {venue id: phase}."""
    return {
        venue.pk: phase_at(calendar_for(venue), at)
        for venue in Venue.objects.prefetch_related("sessions", "holidays")
    }


# --- the loop -------------------------------------------------------------------------------


def _phase_key() -> str:
    return f"{settings.ENGINE_STREAM_PREFIX}:scheduler"


def session_commands(
    changed: dict[int, str], instruments: Iterable[Instrument], *, ts_ns: int
) -> dict[int, list[tuple]]:
    """``set_session`` commands per shard for the instruments of venues whose phase changed.

    An ``add_instrument`` goes first for every instrument, so a book starts the day with
    today's reference price and bands (registering again never changes the session).
    """
    per_shard: dict[int, list[tuple]] = {}
    for instrument in instruments:
        phase = changed.get(instrument.venue_id)
        if phase is None:
            continue
        spec = instrument_spec(instrument, session=phase).to_dict()
        per_shard.setdefault(instrument.shard, []).extend(
            [
                AddInstrument(ts_ns=ts_ns, spec=spec),
                set_session_command(ts_ns=ts_ns, state=phase, symbol=instrument.symbol),
            ]
        )
    return per_shard


def scheduler_tick(*, at: dt.datetime, sent: dict[int, str], expire: bool = True) -> int:
    """One pass: send the phase of every venue that changed since ``sent`` (updated in place
    and in Redis), and ``expire_orders`` to every shard. Returns the number of commands."""
    ts_ns = datetime_to_ns(at)
    phases = venue_phases(at)
    changed = {vid: p for vid, p in phases.items() if sent.get(vid) != p}
    per_shard: dict[int, list[tuple]] = {}
    if changed:
        instruments = Instrument.objects.filter(tradable=True, venue_id__in=changed)
        per_shard = session_commands(changed, instruments, ts_ns=ts_ns)
    if expire:
        for shard in range(settings.ENGINE_SHARDS):
            per_shard.setdefault(shard, []).append(expire_orders_command(ts_ns=ts_ns))
    count = 0
    for shard, commands in per_shard.items():
        publish_commands(shard, commands)
        count += len(commands)
    if changed:
        for vid, phase in changed.items():
            log.info("venue %s: %s -> %s", vid, sent.get(vid, "?"), phase)
        sent.update(changed)
        redis_client().hset(_phase_key(), mapping={str(k): v for k, v in changed.items()})
    return count


def run_scheduler(*, interval_s: float = 1.0, once: bool = False) -> None:
    """The scheduler process: a tick every ``interval_s`` seconds, aligned to the second."""
    stored = redis_client().hgetall(_phase_key())
    sent = {int(k): v.decode() for k, v in stored.items()}
    log.info("scheduler started; last phases sent: %s", sent)
    while True:
        try:
            scheduler_tick(at=dt.datetime.now(dt.UTC), sent=sent)
        except (DatabaseError, RedisError):
            # A restart of Postgres or Redis must not end the process (honcho would stop every
            # other one with it); the phase is sent on the first tick that works.
            log.warning("scheduler tick failed; retrying", exc_info=True)
        if once:
            return
        time.sleep(interval_s - (time.time() % interval_s))
