import datetime as dt

import pytest

from apps.instruments.choices import SessionPhase
from apps.instruments.models import Holiday, TradingSession
from apps.matching import transport
from apps.matching.engine import command_from_wire
from apps.matching.scheduler import VenueCalendar, calendar_for, phase_at, scheduler_tick
from tests.instruments.factories import CryptoFactory, EquityFactory, VenueFactory

NY = "America/New_York"
SESSIONS = (
    ("pre_open", dt.time(4, 0), dt.time(9, 25)),
    ("opening_auction", dt.time(9, 25), dt.time(9, 30)),
    ("continuous", dt.time(9, 30), dt.time(15, 55)),
    ("closing_auction", dt.time(15, 55), dt.time(16, 0)),
)
NASDAQ = VenueCalendar(
    mic="XNAS",
    timezone=NY,
    sessions=SESSIONS,
    holidays={
        dt.date(2026, 11, 26): None,  # Thanksgiving
        dt.date(2026, 11, 27): dt.time(13, 0),  # half day
    },
)


def ny(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """A New York wall-clock time in late 2026 as a UTC instant (EST is UTC-5)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC) + dt.timedelta(hours=5)


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        (ny(30, 3, 59), "closed"),
        (ny(30, 4, 0), "pre_open"),
        (ny(30, 9, 27), "opening_auction"),
        (ny(30, 9, 30), "continuous"),
        (ny(30, 15, 54), "continuous"),
        (ny(30, 15, 57), "closing_auction"),
        (ny(30, 16, 0), "closed"),
        (ny(30, 20, 0), "closed"),
    ],
)
def test_weekday_phases_follow_the_local_schedule(at, phase):
    assert phase_at(NASDAQ, at) == phase


def test_weekend_is_closed():
    assert phase_at(NASDAQ, ny(28, 11)) == "closed"  # Saturday
    assert phase_at(NASDAQ, ny(29, 11)) == "closed"  # Sunday


def test_holiday_is_closed_all_day():
    assert phase_at(NASDAQ, ny(26, 11)) == "closed"


def test_half_day_moves_the_closing_auction_to_the_early_close():
    assert phase_at(NASDAQ, ny(27, 9, 27)) == "opening_auction"
    assert phase_at(NASDAQ, ny(27, 12, 50)) == "continuous"
    assert phase_at(NASDAQ, ny(27, 12, 56)) == "closing_auction"
    assert phase_at(NASDAQ, ny(27, 13, 0)) == "closed"
    assert phase_at(NASDAQ, ny(27, 15, 0)) == "closed"


def test_summer_time_is_taken_from_the_venue_timezone():
    # 2026-07-01 is a Wednesday; New York is UTC-4 in summer: 09:30 local is 13:30 UTC.
    assert phase_at(NASDAQ, dt.datetime(2026, 7, 1, 13, 29, tzinfo=dt.UTC)) == "opening_auction"
    assert phase_at(NASDAQ, dt.datetime(2026, 7, 1, 13, 30, tzinfo=dt.UTC)) == "continuous"


def test_24x7_venue_is_always_continuous():
    crypto = VenueCalendar(mic="CRYP", timezone="UTC", is_24x7=True)
    assert phase_at(crypto, ny(28, 3)) == "continuous"
    assert phase_at(crypto, ny(26, 12)) == "continuous"


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        phase_at(NASDAQ, dt.datetime(2026, 11, 30, 12))  # noqa: DTZ001


@pytest.mark.django_db
def test_calendar_is_read_from_the_venue_rows():
    venue = VenueFactory(mic="XTST", timezone=NY)
    for phase, start, end in SESSIONS:
        TradingSession.objects.create(venue=venue, phase=phase, starts_at=start, ends_at=end)
    Holiday.objects.create(
        venue=venue, date=dt.date(2026, 11, 27), name="half", early_close=dt.time(13)
    )
    calendar = calendar_for(venue)
    assert phase_at(calendar, ny(27, 12, 56)) == SessionPhase.CLOSING_AUCTION
    assert phase_at(calendar, ny(30, 10)) == SessionPhase.CONTINUOUS


@pytest.mark.django_db
def test_tick_sends_a_phase_once_per_change_and_expiry_every_time(stream_prefix, settings):
    settings.ENGINE_SHARDS = 2
    venue = VenueFactory(mic="XSCH", timezone=NY)
    for phase, start, end in SESSIONS:
        TradingSession.objects.create(venue=venue, phase=phase, starts_at=start, ends_at=end)
    EquityFactory(symbol="SCH1", venue=venue, shard=1)
    CryptoFactory(symbol="SCHC-USD", venue=VenueFactory(mic="CRYX", timezone="UTC", is_24x7=True))
    sent: dict[int, str] = {}
    scheduler_tick(at=ny(30, 9, 27), sent=sent)
    scheduler_tick(at=ny(30, 9, 28), sent=sent)
    scheduler_tick(at=ny(30, 9, 30), sent=sent)
    r = transport.redis_client()

    def commands(shard):
        return [
            command_from_wire(transport.unpack(f[b"c"]))
            for _, f in r.xrange(transport.input_stream(shard))
        ]

    shard1 = [
        (c.kind, getattr(c, "state", None)) for c in commands(1) if c.kind != "add_instrument"
    ]
    assert shard1 == [
        ("set_session", "opening_auction"),
        ("expire_orders", None),
        ("expire_orders", None),
        ("set_session", "continuous"),
        ("expire_orders", None),
    ]
    shard0 = [c for c in commands(0) if c.kind == "set_session"]
    assert [(c.symbol, c.state) for c in shard0] == [("SCHC-USD", "continuous")]
    assert r.hgetall(f"{stream_prefix}:scheduler")
