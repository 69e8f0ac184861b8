"""The portal's instrument pages: operations maintains the master, every change is in history."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.clients.choices import Role
from apps.clients.roles import roles_sync
from apps.instruments.models import Instrument
from tests.clients.factories import UserFactory
from tests.instruments.factories import EquityFactory, VenueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(otp_client):
    roles_sync()
    user = UserFactory(roles=[Role.OPERATIONS], is_staff=True, username="oscar.ops")
    return user, otp_client(user)


def instrument_form(instrument: Instrument, **changes) -> dict[str, str]:
    fields = [
        "symbol", "name", "asset_class", "currency", "isin", "tick_size", "lot_size",
        "min_quantity", "multiplier", "reference_price", "price_band_percent",
        "matching_algorithm", "shard", "day_count", "option_type", "exercise_style",
    ]  # fmt: skip
    values = {name: getattr(instrument, name) for name in fields}
    data = {name: "" if value is None else str(value) for name, value in values.items()}
    data["venue"] = str(instrument.venue_id)
    for flag in ["tradable", "shortable", "easy_to_borrow", "marginable", "fractionable"]:
        if getattr(instrument, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_operations_changes_an_instrument_and_history_records_who(operations):
    user, portal = operations
    instrument = EquityFactory(symbol="ACME")

    response = portal.post(
        reverse("admin:instruments_instrument_change", args=[instrument.pk]),
        instrument_form(instrument, reference_price="101.25"),
    )
    history = portal.get(reverse("admin:instruments_instrument_history", args=[instrument.pk]))

    assert response.status_code == 302, response.context and response.context["errors"]
    instrument.refresh_from_db()
    assert instrument.reference_price == Decimal("101.25")
    assert instrument.history.latest().history_user == user
    assert "oscar.ops" in history.content.decode()


def test_instrument_search_and_filter(operations):
    _, portal = operations
    acme = EquityFactory(symbol="ACME", name="Acme Corp")
    EquityFactory(symbol="GLOBX", venue=VenueFactory(mic="XNYS", name="NYSE"))
    url = reverse("admin:instruments_instrument_changelist")

    by_symbol = portal.get(url, {"q": "acme"}).context["cl"].result_list
    by_venue = portal.get(url, {"venue__id__exact": acme.venue_id}).context["cl"].result_list

    assert list(by_symbol) == [acme]
    assert list(by_venue) == [acme]


def test_operations_may_not_delete_an_instrument(operations):
    _, portal = operations
    instrument = EquityFactory()

    response = portal.post(
        reverse("admin:instruments_instrument_delete", args=[instrument.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Instrument.objects.filter(pk=instrument.pk).exists()
