"""Business days and settlement dates from the venue calendars."""

from __future__ import annotations

import datetime as dt

from apps.instruments.choices import AssetClass
from apps.instruments.models import Holiday, Instrument, SettlementCycle
from apps.instruments.selectors import ReferenceCopies

# US market conventions, used when no SettlementCycle row overrides them: T+1 for securities
# since May 2024, same day for crypto and for futures (variation margin is settled daily).
DEFAULT_SETTLEMENT_DAYS: dict[str, int] = {
    AssetClass.EQUITY: 1,
    AssetClass.ETF: 1,
    AssetClass.OPTION: 1,
    AssetClass.BOND: 1,
    AssetClass.FUTURE: 0,
    AssetClass.CRYPTO: 0,
}


def is_business_day(venue_id: int, day: dt.date, *, is_24x7: bool = False) -> bool:
    if is_24x7:
        return True
    if day.weekday() >= 5:
        return False
    return not Holiday.objects.filter(
        venue_id=venue_id, date=day, early_close__isnull=True
    ).exists()


def settle_date(instrument: Instrument, trade_date: dt.date) -> dt.date:
    """Trade date plus the asset class's settlement cycle in the venue's business days."""
    cycle = SettlementCycle.objects.filter(asset_class=instrument.asset_class).first()
    days = (
        cycle.days if cycle is not None else DEFAULT_SETTLEMENT_DAYS.get(instrument.asset_class, 1)
    )
    venue = instrument.venue
    day = trade_date
    while days > 0:
        day += dt.timedelta(days=1)
        if is_business_day(venue.pk, day, is_24x7=venue.is_24x7):
            days -= 1
    return day


_settle_dates: ReferenceCopies[dt.date] = ReferenceCopies()


def cached_settle_date(instrument: Instrument, trade_date: dt.date) -> dt.date:
    """``settle_date``, kept by this process until reference data changes
    (``selectors.ReferenceCopies``): the applier needs one for every trade, and reading the
    cycle and the holidays cost it more than the rest of a small batch's reads."""
    key = (instrument.asset_class, instrument.venue_id, trade_date)
    settles = _settle_dates.get(key, lambda: settle_date(instrument, trade_date))
    assert settles is not None  # settle_date always answers
    return settles
