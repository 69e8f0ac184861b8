"""Order entry's per-process copies of instruments: served without a query while nothing changed,
dropped as soon as an instrument or a venue does, however it was written."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from apps.instruments.models import Instrument
from apps.instruments.selectors import instrument_for_order
from apps.marketdata.services import reference_prices_store
from tests.instruments.factories import CryptoFactory, EquityFactory

D = Decimal


@pytest.mark.django_db
def test_an_instrument_is_read_once_then_served_from_the_copy(django_assert_num_queries):
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    first = instrument_for_order(symbol="acme")

    with django_assert_num_queries(0):
        again = instrument_for_order(symbol="ACME")
        assert again.venue.mic == acme.venue.mic  # the venue comes with it

    assert first.pk == again.pk == acme.pk


@pytest.mark.django_db
def test_a_saved_change_is_served_at_once():
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    instrument_for_order(symbol="ACME")

    acme.tradable = False
    acme.reference_price = D("80.00")
    acme.save()

    served = instrument_for_order(symbol="ACME")
    assert (served.tradable, served.reference_price) == (False, D("80.00"))


@pytest.mark.django_db
def test_a_venue_change_is_served_at_once():
    bitcoin = CryptoFactory(symbol="BTC-USD", reference_price=D("60000.00"))
    assert instrument_for_order(symbol="BTC/USD").venue.is_24x7 is False

    bitcoin.venue.is_24x7 = True
    bitcoin.venue.save()

    assert instrument_for_order(symbol="BTC/USD").venue.is_24x7 is True


@pytest.mark.django_db
def test_a_reference_price_from_the_feed_is_served_at_once(stream_prefix):
    EquityFactory(symbol="ACME", reference_price=D("100.00"))
    instrument_for_order(symbol="ACME")

    reference_prices_store({"ACME": D("101.25")})  # a bulk UPDATE, not Instrument.save

    assert instrument_for_order(symbol="ACME").reference_price == D("101.25")


@pytest.mark.django_db
def test_an_unknown_symbol_is_none():
    assert instrument_for_order(symbol="NOPE") is None


@pytest.mark.django_db(transaction=True)
def test_a_copy_read_while_the_change_was_uncommitted_is_dropped_at_the_commit():
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    served_meanwhile: list[Instrument] = []

    def another_request() -> None:  # another connection: it sees only what is committed
        try:
            served_meanwhile.append(instrument_for_order(symbol="ACME"))
        finally:
            connection.close()

    with transaction.atomic():
        acme.reference_price = D("90.00")
        acme.save()
        reader = threading.Thread(target=another_request)
        reader.start()
        reader.join(timeout=30)

    assert served_meanwhile[0].reference_price == D("100.00")  # the committed row, then
    assert instrument_for_order(symbol="ACME").reference_price == D("90.00")
