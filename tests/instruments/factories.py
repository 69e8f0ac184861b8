import datetime as dt
from decimal import Decimal

import factory

from apps.instruments.choices import AssetClass, DayCount, ExerciseStyle, OptionType
from apps.instruments.models import Instrument, Venue


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue
        django_get_or_create = ("mic",)

    mic = "XNAS"
    name = "Nasdaq"


class EquityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"EQ{n}")
    name = factory.LazyAttribute(lambda i: f"{i.symbol} Inc. common stock")
    asset_class = AssetClass.EQUITY
    venue = factory.SubFactory(VenueFactory)
    tick_size = Decimal("0.01")
    lot_size = Decimal(1)
    min_quantity = Decimal(1)
    shortable = True
    marginable = True
    reference_price = Decimal("100.00")


class CryptoFactory(EquityFactory):
    symbol = factory.Sequence(lambda n: f"C{n}-USD")
    asset_class = AssetClass.CRYPTO
    venue = factory.SubFactory(VenueFactory, mic="CRYP", name="Crypto venue")
    lot_size = Decimal("0.0001")
    min_quantity = Decimal("0.0001")
    fractionable = True
    shortable = False
    marginable = False


class BondFactory(EquityFactory):
    symbol = factory.Sequence(lambda n: f"UST{n}")
    asset_class = AssetClass.BOND
    venue = factory.SubFactory(VenueFactory, mic="BOND", name="Bond venue")
    tick_size = Decimal("0.001")
    coupon_rate = Decimal("4.25")
    maturity_date = dt.date(2034, 11, 15)
    face_value = Decimal(1000)
    day_count = DayCount.ACT_ACT


class OptionFactory(EquityFactory):
    symbol = factory.Sequence(lambda n: f"OPT{n}")
    asset_class = AssetClass.OPTION
    underlying = factory.SubFactory(EquityFactory)
    multiplier = Decimal(100)
    expiry_date = dt.date(2027, 1, 15)
    strike_price = Decimal(100)
    option_type = OptionType.CALL
    exercise_style = ExerciseStyle.AMERICAN
    reference_price = Decimal("5.00")


class FutureFactory(EquityFactory):
    symbol = factory.Sequence(lambda n: f"FUT{n}")
    asset_class = AssetClass.FUTURE
    venue = factory.SubFactory(VenueFactory, mic="XCME", name="CME")
    tick_size = Decimal("0.25")
    multiplier = Decimal(50)
    expiry_date = dt.date(2027, 3, 19)
    initial_margin = Decimal(12000)
    maintenance_margin = Decimal(11000)
