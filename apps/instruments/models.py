"""Instruments of every asset class, the venues and calendars they trade on, settlement cycles."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.common.decimals import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
)
from apps.instruments.choices import (
    AssetClass,
    DayCount,
    ExerciseStyle,
    MatchingAlgorithm,
    OptionType,
    SessionPhase,
)


class ReferenceData(models.Model):
    """Rows the processes keep copies of (``selectors.ReferenceCopies``: instruments with their
    venue for order entry, settlement dates for the applier): every save or delete tells them.
    ``QuerySet.update`` does not come here: whoever updates these in bulk calls
    ``selectors.instruments_changed`` itself."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _reference_data_changed()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        _reference_data_changed()
        return deleted


def _reference_data_changed() -> None:
    from apps.instruments.selectors import instruments_changed  # selectors import this module

    instruments_changed()


class Venue(ReferenceData):
    """Where an instrument trades; it owns the trading calendar (sessions and holidays)."""

    mic = models.CharField("MIC", max_length=10, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=50, default="America/New_York")
    is_24x7 = models.BooleanField(default=False, help_text="Crypto venues never close")

    history = HistoricalRecords()

    class Meta:
        ordering = ["mic"]

    def __str__(self) -> str:
        return self.mic


class TradingSession(models.Model):
    """One phase of a venue's regular trading day, in the venue's local time."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="sessions")
    phase = models.CharField(max_length=20, choices=SessionPhase.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["venue", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "phase"], name="one_session_per_phase"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue} {self.phase} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class Holiday(ReferenceData):
    """A day the venue is closed, or closes early (a half day) when ``early_close`` is set."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)
    early_close = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["venue", "date"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "date"], name="one_holiday_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.venue} {self.date} {self.name}"

    @property
    def is_half_day(self) -> bool:
        return self.early_close is not None


class SettlementCycle(ReferenceData):
    """Business days from trade to settlement per asset class (T+1 US equities, T+0 crypto)."""

    asset_class = models.CharField(max_length=10, choices=AssetClass.choices, unique=True)
    days = models.PositiveSmallIntegerField()

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.get_asset_class_display()} T+{self.days}"


class Instrument(ReferenceData):
    """Anything an order can name. One table for every asset class; the class-specific fields are
    required by database constraints for their class (a bond has a coupon, an option a strike)."""

    symbol = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    asset_class = models.CharField(max_length=10, choices=AssetClass.choices)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="instruments")
    currency = models.CharField(max_length=3, default="USD")
    isin = models.CharField("ISIN", max_length=12, blank=True)

    tick_size = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    lot_size = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, help_text="Quantity increment"
    )
    min_quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    multiplier = models.DecimalField(
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        default=Decimal(1),
        help_text="Contract multiplier (100 for US equity options); 1 for cash instruments",
    )
    tradable = models.BooleanField(default=True)
    shortable = models.BooleanField(default=False)
    easy_to_borrow = models.BooleanField(default=False)
    marginable = models.BooleanField(default=False)
    fractionable = models.BooleanField(default=False)

    reference_price = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        null=True,
        blank=True,
        help_text="Last official price; price bands and marking to market use it",
    )
    price_band_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Static band around the reference price outside which limit orders are rejected",
    )
    matching_algorithm = models.CharField(
        max_length=10, choices=MatchingAlgorithm.choices, default=MatchingAlgorithm.PRICE_TIME
    )
    shard = models.PositiveSmallIntegerField(
        default=0, help_text="Matcher shard that owns the book"
    )

    # Bonds
    coupon_rate = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    maturity_date = models.DateField(null=True, blank=True)
    face_value = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    day_count = models.CharField(max_length=10, choices=DayCount.choices, blank=True)
    # Options and futures
    underlying = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    expiry_date = models.DateField(null=True, blank=True)
    # Options
    strike_price = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    option_type = models.CharField(max_length=4, choices=OptionType.choices, blank=True)
    exercise_style = models.CharField(max_length=10, choices=ExerciseStyle.choices, blank=True)
    # Futures: margin per contract
    initial_margin = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    maintenance_margin = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["symbol"]
        indexes = [models.Index(fields=["asset_class", "symbol"]), models.Index(fields=["shard"])]
        constraints = [
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="tick_size_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="lot_size_positive"),
            models.CheckConstraint(condition=Q(min_quantity__gt=0), name="min_quantity_positive"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="multiplier_positive"),
            models.CheckConstraint(
                condition=Q(reference_price__isnull=True) | Q(reference_price__gt=0),
                name="reference_price_positive",
            ),
            models.CheckConstraint(
                condition=~Q(asset_class="bond")
                | Q(
                    coupon_rate__isnull=False,
                    maturity_date__isnull=False,
                    face_value__isnull=False,
                    face_value__gt=0,
                )
                & ~Q(day_count=""),
                name="bond_terms_required",
            ),
            models.CheckConstraint(
                condition=~Q(asset_class="option")
                | Q(
                    underlying__isnull=False,
                    expiry_date__isnull=False,
                    strike_price__isnull=False,
                    strike_price__gt=0,
                )
                & ~Q(option_type="")
                & ~Q(exercise_style=""),
                name="option_terms_required",
            ),
            models.CheckConstraint(
                condition=~Q(asset_class="future")
                | Q(
                    expiry_date__isnull=False,
                    initial_margin__isnull=False,
                    initial_margin__gt=0,
                    maintenance_margin__isnull=False,
                    maintenance_margin__gt=0,
                ),
                name="future_terms_required",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_margin__isnull=True)
                | Q(initial_margin__gte=models.F("maintenance_margin")),
                name="initial_margin_covers_maintenance",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol
