from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.common.errors import ValidationFailed
from apps.instruments.rules import check_price, check_price_band, check_quantity, price_band
from tests.instruments.factories import (
    BondFactory,
    CryptoFactory,
    EquityFactory,
    FutureFactory,
    OptionFactory,
)

pytestmark = pytest.mark.django_db


def test_every_asset_class_can_be_created_with_its_terms():
    for factory in (EquityFactory, CryptoFactory, BondFactory, OptionFactory, FutureFactory):
        assert factory().pk


def test_an_option_without_a_strike_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="option_terms_required"), transaction.atomic():
        OptionFactory(strike_price=None)


def test_a_bond_without_a_coupon_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="bond_terms_required"), transaction.atomic():
        BondFactory(coupon_rate=None)


def test_a_future_needs_initial_margin_at_least_the_maintenance_margin():
    with (
        pytest.raises(IntegrityError, match="initial_margin_covers_maintenance"),
        transaction.atomic(),
    ):
        FutureFactory(initial_margin=Decimal(1000), maintenance_margin=Decimal(2000))


def test_tick_size_must_be_positive():
    with pytest.raises(IntegrityError, match="tick_size_positive"), transaction.atomic():
        EquityFactory(tick_size=Decimal(0))


@pytest.mark.parametrize(
    ("price", "code"),
    [
        (Decimal("100.005"), "invalid_tick"),
        (Decimal(0), "invalid_price"),
        (Decimal(-1), "invalid_price"),
    ],
)
def test_prices_off_the_tick_grid_or_not_positive_are_refused(price, code):
    equity = EquityFactory(tick_size=Decimal("0.01"))

    with pytest.raises(ValidationFailed) as refused:
        check_price(equity, price)

    assert refused.value.code == code


def test_a_price_on_the_tick_grid_is_accepted():
    check_price(EquityFactory(tick_size=Decimal("0.05")), Decimal("100.15"))


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (Decimal("0.00005"), "below_min_quantity"),
        (Decimal("0.00015"), "invalid_lot"),
        (Decimal(0), "invalid_quantity"),
    ],
)
def test_crypto_quantities_respect_minimum_and_lot(quantity, code):
    bitcoin = CryptoFactory(lot_size=Decimal("0.0001"), min_quantity=Decimal("0.0001"))

    with pytest.raises(ValidationFailed) as refused:
        check_quantity(bitcoin, quantity)

    assert refused.value.code == code


def test_fractional_crypto_quantity_on_the_lot_grid_is_accepted():
    check_quantity(CryptoFactory(lot_size=Decimal("0.0001")), Decimal("0.1234"))


def test_price_band_is_snapped_inward_to_the_tick_grid():
    equity = EquityFactory(
        reference_price=Decimal("100.00"),
        price_band_percent=Decimal("2.5"),
        tick_size=Decimal("0.05"),
    )

    assert price_band(equity) == (Decimal("97.50"), Decimal("102.50"))
    check_price_band(equity, Decimal("102.50"))
    with pytest.raises(ValidationFailed) as refused:
        check_price_band(equity, Decimal("102.55"))
    assert refused.value.code == "price_outside_band"
