"""Operations portal for venues, their calendars, settlement cycles and instruments."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.instruments.models import Holiday, Instrument, SettlementCycle, TradingSession, Venue


class TradingSessionInline(admin.TabularInline):
    model = TradingSession
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    ordering = ["-date"]


@admin.register(Venue)
class VenueAdmin(SimpleHistoryAdmin):
    list_display = ["mic", "name", "timezone", "is_24x7"]
    list_filter = ["is_24x7", "timezone"]
    search_fields = ["mic", "name"]
    inlines = [TradingSessionInline, HolidayInline]


@admin.register(TradingSession)
class TradingSessionAdmin(admin.ModelAdmin):
    list_display = ["venue", "phase", "starts_at", "ends_at"]
    list_filter = ["venue", "phase"]
    search_fields = ["venue__mic", "venue__name"]
    list_select_related = ["venue"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "venue", "name", "early_close"]
    list_filter = ["venue"]
    search_fields = ["name", "venue__mic"]
    list_select_related = ["venue"]
    date_hierarchy = "date"
    ordering = ["-date"]


@admin.register(SettlementCycle)
class SettlementCycleAdmin(SimpleHistoryAdmin):
    list_display = ["asset_class", "days"]
    ordering = ["asset_class"]


@admin.register(Instrument)
class InstrumentAdmin(SimpleHistoryAdmin):
    list_display = [
        "symbol",
        "name",
        "asset_class",
        "venue",
        "currency",
        "reference_price",
        "tradable",
        "shortable",
        "shard",
    ]
    list_filter = [
        "asset_class",
        "venue",
        "currency",
        "tradable",
        "shortable",
        "easy_to_borrow",
        "marginable",
        "fractionable",
        "matching_algorithm",
        "shard",
    ]
    search_fields = ["symbol", "name", "isin"]
    list_select_related = ["venue"]
    autocomplete_fields = ["underlying"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["symbol", "name", "asset_class", "venue", "currency", "isin"]}),
        (
            "Trading rules",
            {
                "fields": [
                    "tick_size",
                    "lot_size",
                    "min_quantity",
                    "multiplier",
                    "tradable",
                    "shortable",
                    "easy_to_borrow",
                    "marginable",
                    "fractionable",
                ]
            },
        ),
        ("Price controls", {"fields": ["reference_price", "price_band_percent"]}),
        ("Matching", {"fields": ["matching_algorithm", "shard"]}),
        (
            "Bond terms",
            {
                "classes": ["collapse"],
                "fields": ["coupon_rate", "maturity_date", "face_value", "day_count"],
            },
        ),
        (
            "Derivative terms",
            {
                "classes": ["collapse"],
                "fields": [
                    "underlying",
                    "expiry_date",
                    "strike_price",
                    "option_type",
                    "exercise_style",
                    "initial_margin",
                    "maintenance_margin",
                ],
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
