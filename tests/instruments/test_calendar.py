"""Settlement dates: the cycle in the venue's business days, and the applier's per-process copy
of them, dropped as soon as a holiday or a cycle changes."""

import datetime as dt

import pytest

from apps.instruments.calendar import cached_settle_date, settle_date
from apps.instruments.models import Holiday, SettlementCycle
from apps.instruments.selectors import instrument_id
from tests.instruments.factories import CryptoFactory, EquityFactory

pytestmark = pytest.mark.django_db

THURSDAY = dt.date(2026, 12, 3)
FRIDAY, MONDAY, TUESDAY = dt.date(2026, 12, 4), dt.date(2026, 12, 7), dt.date(2026, 12, 8)


def test_a_t_plus_one_trade_settles_on_the_next_business_day():
    acme = EquityFactory()
    SettlementCycle.objects.update_or_create(asset_class=acme.asset_class, defaults={"days": 1})
    assert settle_date(acme, THURSDAY) == FRIDAY
    assert settle_date(acme, FRIDAY) == MONDAY  # over the weekend
    Holiday.objects.create(venue=acme.venue, date=MONDAY, name="Closed")
    assert settle_date(acme, FRIDAY) == TUESDAY
    assert settle_date(CryptoFactory(), FRIDAY) == FRIDAY  # T+0 by default


def test_the_settle_date_is_read_once_then_served_from_the_copy(django_assert_num_queries):
    acme = EquityFactory()
    SettlementCycle.objects.update_or_create(asset_class=acme.asset_class, defaults={"days": 1})
    assert cached_settle_date(acme, FRIDAY) == MONDAY

    with django_assert_num_queries(0):
        assert cached_settle_date(acme, FRIDAY) == MONDAY


def test_a_new_holiday_or_cycle_is_served_at_once():
    acme = EquityFactory()
    cycle, _ = SettlementCycle.objects.update_or_create(
        asset_class=acme.asset_class, defaults={"days": 1}
    )
    assert cached_settle_date(acme, FRIDAY) == MONDAY

    Holiday.objects.create(venue=acme.venue, date=MONDAY, name="Closed")
    assert cached_settle_date(acme, FRIDAY) == TUESDAY

    cycle.days = 2
    cycle.save()
    assert cached_settle_date(acme, FRIDAY) == dt.date(2026, 12, 9)


def test_an_instrument_id_is_read_once_then_served_from_the_copy(django_assert_num_queries):
    acme = EquityFactory(symbol="ACME")
    assert instrument_id("ACME") == acme.pk
    with django_assert_num_queries(0):
        assert instrument_id("ACME") == acme.pk
    assert instrument_id("NOPE") is None
